import type { Command } from 'commander'
import { MissingMasterPasswordError } from '../../core/errors.ts'
import type { CliContext } from '../context.ts'
import { printJsonObject } from '../json-output.ts'
import {
  type IdentityReport,
  identityFromKeyRing,
  identityFromNode,
  internalApiUrl,
  NodeApiError
} from '../node-identity.ts'

interface IdOptions {
  json?: boolean
  api?: string
  keyRing?: boolean
}

/**
 * `dmn id`: PeerId, listen multiaddrs, Ethereum address and key fingerprints, from the running node
 * when one answers on the internal API, else from the key ring.
 */
export function registerIdCommand(program: Command, ctx: CliContext): void {
  program
    .command('id')
    .description("this node's PeerId, multiaddrs, Ethereum address and key fingerprints")
    .option('--json', 'one JSON object')
    .option('--api <url>', 'internal API of the running node (default: the configured one)')
    .option('--key-ring', 'read the key ring even if a node is running (needs the master password)')
    .action(async (opts: IdOptions) => {
      const cfg = ctx.config()
      let report: IdentityReport | undefined
      if (!opts.keyRing) {
        const url = opts.api ?? internalApiUrl(cfg)
        report = await identityFromNode(url)
        // A node named with --api must answer; only the configured default falls back to the ring.
        if (report === undefined && opts.api)
          throw new NodeApiError(
            `no node listens at ${url} (connection refused): start it with \`dmn start\`, or name another with --api`
          )
      }
      if (report === undefined) {
        if (cfg.masterPassword === undefined) throw new MissingMasterPasswordError()
        report = await identityFromKeyRing(cfg, cfg.masterPassword)
      }
      if (opts.json) printJsonObject(ctx, report)
      else for (const line of describe(report)) ctx.print(line)
    })
}

function describe(r: IdentityReport): string[] {
  const notYet = "none yet (made at the node's first start)"
  const where = r.listening ? 'listening on' : 'would listen on'
  const addresses =
    r.addresses.length > 0
      ? r.addresses
      : [r.peer_id === null ? notYet : 'a port chosen at start (p2p.port is 0)']
  return [
    `peer id:          ${r.peer_id ?? notYet}`,
    ...addresses.map((a, i) => `${i === 0 ? `${where}:`.padEnd(18) : ' '.repeat(18)}${a}`),
    `ethereum address: ${r.eth_address ?? notYet}`,
    `signing key:      ${r.signing_key_fingerprint}`,
    `encryption key:   ${r.encryption_key_fingerprint}`,
    `source:           ${r.source === 'node' ? `the running node at ${r.from}` : `key ring ${r.from}`}`
  ]
}
