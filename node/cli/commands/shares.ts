import type { Command } from 'commander'
import * as present from '../../../api/present.ts'
import { UsageError } from '../../core/errors.ts'
import { DELIVERY_STATES, type DeliveryState } from '../../core/share.ts'
import { ShareRepository } from '../../store/shares.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray } from '../json-output.ts'

/**
 * `dmn shares list`: the shares this node sent and received, newest first, with where delivery and
 * audit stand (as `GET /v1/shares` shows them). It reads the database file, so it works beside a
 * running node.
 */
export function registerSharesCommands(program: Command, ctx: CliContext): void {
  const shares = program.command('shares').description('shares sent and received')
  shares
    .command('list')
    .description('shares, newest first: id, direction, delivery, audit, recipient, label, last error')
    .option('--state <state>', DELIVERY_STATES.join(' | '))
    .option('--limit <n>', 'at most this many (1..1000)', '100')
    .option('--json', 'print one JSON array of shares as GET /v1/shares shows them')
    .action((opts: { state?: string; limit: string; json?: boolean }) => {
      if (opts.state !== undefined && !(DELIVERY_STATES as readonly string[]).includes(opts.state)) {
        throw new UsageError(`--state must be one of ${DELIVERY_STATES.join(', ')}`)
      }
      const limit = Number(opts.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UsageError('--limit must be 1..1000')
      const mode = ctx.config().chain.mode
      const views = withDatabase(ctx, (db) =>
        new ShareRepository(db).views({ state: opts.state as DeliveryState | undefined, limit }, mode)
      )
      if (opts.json) {
        printJsonArray(ctx, views.map(present.share))
        return
      }
      if (views.length === 0) ctx.print('no shares')
      for (const v of views) {
        ctx.print(
          `${v.shareId}  ${v.direction}  ${v.delivery}  ${v.audit}  ${v.recipient}  ${v.recipientLabel}  ${v.lastError ?? '-'}`
        )
      }
    })
}
