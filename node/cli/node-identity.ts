import { networkInterfaces } from 'node:os'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Wallet } from 'ethers'
import type { Config } from '../../config/index.ts'
import { ETH_KEY_SECRET } from '../audit/constants.ts'
import { DmnError } from '../core/errors.ts'
import { KeyRingNotFoundError, keyFingerprint, keyRingPath, openKeyRing } from '../crypto/index.ts'
import { LIBP2P_KEY_SECRET } from '../p2p/constants.ts'

/**
 * A node's identity as `dmn id` shows it: asked of the running node (`GET /id` on its internal API),
 * or read from the key ring when no node answers, with the addresses it would listen on.
 */
export interface IdentityReport {
  /** `node`: the running node answered; `key-ring`: read from the key ring file. */
  readonly source: 'node' | 'key-ring'
  /** The internal API asked, or the key ring file read. */
  readonly from: string
  /** Null when the key ring has no libp2p key yet (made at the node's first start). */
  readonly peer_id: string | null
  /** True: the node listens on these now; false: it would listen on them (from the configuration). */
  readonly listening: boolean
  readonly addresses: readonly string[]
  /** Null until the node's Ethereum key exists (made at its first start) and none is configured. */
  readonly eth_address: string | null
  readonly signing_key_fingerprint: string
  readonly encryption_key_fingerprint: string
}

/** The node's internal API did not answer `GET /id` as a node does. */
export class NodeApiError extends DmnError {
  override name = 'NodeApiError'
}

// Long enough for a busy node on loopback; short enough that `dmn id` does not seem to hang.
const ID_REQUEST_TIMEOUT_MS = 5_000

/** The configured internal API as a URL a client can use (a wildcard host is reached on loopback). */
export function internalApiUrl(config: Config): string {
  const { host, port } = config.api.internal
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`
}

/**
 * Asks the node at `apiUrl` for its identity. Returns undefined when nothing listens there
 * (connection refused); any other failure is a `NodeApiError`.
 */
export async function identityFromNode(apiUrl: string): Promise<IdentityReport | undefined> {
  const url = new URL('/id', apiUrl)
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(ID_REQUEST_TIMEOUT_MS) })
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code === 'ECONNREFUSED') return undefined
    throw new NodeApiError(
      `no answer from the node's internal API at ${apiUrl}: ${(err as Error).message} (is \`dmn start\` running with this configuration? The CLI finds it at api.internal.host and api.internal.port)`,
      {
        cause: err
      }
    )
  }
  if (response.status !== 200)
    throw new NodeApiError(
      `the internal API at ${apiUrl} answered GET /id with ${response.status} (check api.internal.host and api.internal.port, or name the node with --api)`
    )
  const body = (await response.json()) as Omit<IdentityReport, 'source' | 'from' | 'listening'>
  return { source: 'node', from: apiUrl, listening: true, ...body }
}

/** Reads the identity from the key ring (the master password unlocks it); addresses from `config`. */
export async function identityFromKeyRing(config: Config, password: string): Promise<IdentityReport> {
  const path = keyRingPath(config.dataDir)
  const ring = await openKeyRing(path, password).catch((err: unknown) => {
    if (!(err instanceof KeyRingNotFoundError)) throw err
    throw new KeyRingNotFoundError(
      `no node answers and there is no key ring at ${path}: \`dmn keys init\` or a first \`dmn start\` creates it`,
      { cause: err }
    )
  })
  try {
    const libp2pKey = ring.getSecret(LIBP2P_KEY_SECRET)
    const peerId = libp2pKey ? peerIdFromPrivateKey(privateKeyFromProtobuf(libp2pKey)).toString() : null
    const ethKey = config.chain.privateKey ?? hexOf(ring.getSecret(ETH_KEY_SECRET))
    return {
      source: 'key-ring',
      from: path,
      peer_id: peerId,
      listening: false,
      addresses: peerId ? wouldListenOn(config, peerId) : [],
      eth_address: ethKey ? new Wallet(ethKey.startsWith('0x') ? ethKey : `0x${ethKey}`).address : null,
      signing_key_fingerprint: keyFingerprint(ring.identity.signing.publicKeyPem),
      encryption_key_fingerprint: keyFingerprint(ring.identity.encryption.publicKeyPem)
    }
  } finally {
    ring.close()
  }
}

function hexOf(secret: Uint8Array | undefined): string | undefined {
  return secret ? Buffer.from(secret).toString('hex') : undefined
}

/**
 * The multiaddrs the node would announce with this configuration: a wildcard host stands for every
 * address of this machine, as libp2p expands it. Port 0 is chosen at start, so nothing is known.
 */
function wouldListenOn(config: Config, peerId: string): string[] {
  const { host, port } = config.p2p
  if (port === 0) return []
  const family = host.includes(':') ? 'IPv6' : 'IPv4'
  const hosts =
    host === '0.0.0.0' || host === '::'
      ? Object.values(networkInterfaces())
          .flat()
          .filter((i) => i !== undefined && i.family === family && !i.address.startsWith('fe80:'))
          .map((i) => (i as { address: string }).address)
      : [host]
  const proto = family === 'IPv6' ? 'ip6' : 'ip4'
  return hosts.map((h) => `/${proto}/${h}/tcp/${port}/p2p/${peerId}`)
}
