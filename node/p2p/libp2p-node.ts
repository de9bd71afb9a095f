import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, PeerId, PeerInfo, PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT } from '@libp2p/kad-dht'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { DHT_PROTOCOL, LIBP2P_KEY_SECRET } from './constants.ts'
import { noiseCrypto } from './noise-crypto.ts'

/** The libp2p services this node runs. */
export type DmnServices = {
  identify: ReturnType<ReturnType<typeof identify>>
  ping: Ping
  dht: KadDHT
}

export type DmnLibp2p = Libp2p<DmnServices>

/** Where the libp2p identity key lives: the key ring's named secrets. */
export interface IdentitySecrets {
  getSecret(name: string): Uint8Array | undefined
  setSecret(name: string, value: Uint8Array): Promise<void>
}

/**
 * The libp2p identity: loaded from the key ring, or generated once (Ed25519) and stored there, so the
 * PeerId stays the same across restarts and the key is encrypted at rest with the other secrets.
 */
export async function loadOrCreateIdentity(secrets: IdentitySecrets): Promise<PrivateKey> {
  const stored = secrets.getSecret(LIBP2P_KEY_SECRET)
  if (stored) return privateKeyFromProtobuf(stored)
  const key = await generateKeyPair('Ed25519')
  await secrets.setSecret(LIBP2P_KEY_SECRET, privateKeyToProtobuf(key))
  return key
}

export interface CreateLibp2pInit {
  readonly privateKey: PrivateKey
  readonly host: string
  readonly port: number
  readonly maxConnections: number
  /** Decides, for an authenticated remote PeerId, whether the connection is refused. */
  readonly refusePeer: (peer: PeerId, direction: 'inbound' | 'outbound') => boolean
}

/**
 * Builds (but does not start) the libp2p node: TCP, Noise, Yamux, identify, ping and a kad-dht in
 * our own namespace for discovery and routing.
 */
export async function createDmnLibp2p(init: CreateLibp2pInit): Promise<DmnLibp2p> {
  const gater: ConnectionGater = {
    denyDialPeer: (peer) => init.refusePeer(peer, 'outbound'),
    denyInboundEncryptedConnection: (peer) => init.refusePeer(peer, 'inbound'),
    denyOutboundEncryptedConnection: (peer) => init.refusePeer(peer, 'outbound'),
    // Loopback and private addresses are how organisations on one network (and the tests) reach each other.
    denyDialMultiaddr: () => false
  }
  const ipVersion = init.host.includes(':') ? 'ip6' : 'ip4'
  return createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: [`/${ipVersion}/${init.host}/tcp/${init.port}`] },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    streamMuxers: [yamux()],
    connectionGater: gater,
    connectionManager: { maxConnections: init.maxConnections },
    services: {
      identify: identify(),
      // kad-dht pings new contacts while the health monitor pings too: one outbound stream is not enough.
      ping: ping({ maxOutboundStreams: 2 }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        // The default mapper drops private addresses, so nodes on one LAN or host would never find each other.
        peerInfoMapper: dhtAddressMapper(init.host),
        allowQueryWithZeroPeers: true
      })
    }
  })
}

/** Whether a multiaddr's host is a loopback address (127.0.0.0/8, ::1). */
function isLoopback(address: Multiaddr): boolean {
  const host = address.getComponents()[0]
  if (host?.name === 'ip4') return host.value?.startsWith('127.') ?? false
  if (host?.name === 'ip6') return host.value === '::1'
  return false
}

/**
 * What the DHT passes on of the addresses peers announce. Private (LAN) addresses stay: that is how
 * organisations on one network reach each other. Loopback addresses name the asking machine itself,
 * so they are kept only by a node that listens on loopback (nodes on one host, as in tests); a node
 * listening elsewhere drops them, and a peer cannot point it at its own local services.
 */
export function dhtAddressMapper(listenHost: string): (peer: PeerInfo) => PeerInfo {
  const keepsLoopback = listenHost === 'localhost' || listenHost === '::1' || listenHost.startsWith('127.')
  if (keepsLoopback) return (peer) => peer
  return (peer) => ({ ...peer, multiaddrs: peer.multiaddrs.filter((address) => !isLoopback(address)) })
}
