import { peerIdFromString } from '@libp2p/peer-id'
import type { Command } from 'commander'
import { UsageError } from '../../core/errors.ts'
import { createPeerBook, type PeerBook } from '../../p2p/peer-book.ts'
import { PeerRepository } from '../../store/peers.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray } from '../json-output.ts'

/**
 * `dmn peers list|allow|deny`: the operator's view of the peer book. It works on the database file,
 * so it also applies to a running node: the connection gater reads the peer book on every connection.
 */
export function registerPeersCommands(program: Command, ctx: CliContext): void {
  const peers = program.command('peers').description('the peer book: list, allow and deny peers')

  const withBook = <T>(fn: (book: PeerBook) => T): T =>
    withDatabase(ctx, (db) => fn(createPeerBook({ peers: new PeerRepository(db) })))
  const parsePeerId = (value: string): string => {
    try {
      return peerIdFromString(value).toString()
    } catch (err) {
      throw new UsageError(
        `not a PeerId: ${value} (one starts 12D3KooW or Qm; \`dmn peers list\` shows the known peers, \`dmn id\` this node's)`,
        { cause: err }
      )
    }
  }

  peers
    .command('list')
    .description('known peers, healthy first')
    .option('--healthy', 'only healthy peers')
    .option('--json', "print one JSON array (fields as GET /peers names them, and the book's own)")
    .action((opts: { healthy?: boolean; json?: boolean }) => {
      const list = withBook((book) => book.list(opts.healthy ? { healthy: true } : {}))
      if (opts.json) {
        printJsonArray(
          ctx,
          list.map(({ certificatePem: _pem, ...rest }) => rest)
        )
        return
      }
      if (list.length === 0) ctx.print('no peers')
      for (const p of list) {
        const latency = p.latencyMs === null ? '-' : `${p.latencyMs.toFixed(1)}ms`
        ctx.print(
          `${p.peerId}  ${p.status}  ${p.trust}  ${p.healthy ? 'healthy' : 'unhealthy'}  ${latency}  ${p.ethAddress ?? '-'}`
        )
      }
    })

  peers
    .command('allow <peerId>')
    .description('allowlist a peer (trusted for the high tier; the only peers admitted in allowlist mode)')
    .action((value: string) => {
      const peerId = parsePeerId(value)
      withBook((book) => book.allow(peerId))
      ctx.print(`allowed ${peerId}`)
    })

  peers
    .command('deny <peerId>')
    .description('deny a peer: its connections are refused from now on')
    .action((value: string) => {
      const peerId = parsePeerId(value)
      withBook((book) => book.setStatus(peerId, 'denied'))
      ctx.print(`denied ${peerId}`)
    })
}
