import type { Command } from 'commander'
import {
  type AuditService,
  AuditVerificationFailedError,
  SecurityLogTamperedError
} from '../../audit/index.ts'
import { UsageError } from '../../core/errors.ts'
import { AUDIT_STATES, type AuditState, DATA_HASH_PATTERN } from '../../core/share.ts'
import { auditServiceOver } from '../audit-service.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'

/** `dmn audit ...`: the audit trail's index, verification, security log and outbox. */
export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('the blockchain audit trail')
  // The node's own audit service over this database, never started: it sends nothing.
  const withService = (fn: (service: AuditService) => Promise<void> | void) =>
    withDatabase(ctx, (db) => fn(auditServiceOver(ctx, () => db)))

  audit
    .command('reindex')
    .description('rebuild the local event index from the chain')
    .action(() =>
      withService(async (service) => {
        await service.connect()
        const rows = await service.reindex()
        ctx.print(`indexed ${rows} events from block ${service.deployBlock}`)
      })
    )

  audit
    .command('verify-log')
    .description('check the security log hash chain and, with a chain configured, its anchors')
    .action(() =>
      withService(async (service) => {
        const result = service.securityLog.verifyChain()
        let anchors: unknown = 'not checked (no CHAIN_RPC_URL)'
        let anchorsOk = true
        if (ctx.config().chain.rpcUrl) {
          await service.connect()
          if (service.account) {
            const a = (await service.verifyLog()).anchors
            anchors = a
            anchorsOk = a.ok
          } else {
            anchors = 'not checked (this node has not published on this chain yet)'
          }
        }
        ctx.print(JSON.stringify({ ...result, ok: result.ok && anchorsOk, anchors }))
        if (result.firstBad) {
          throw new SecurityLogTamperedError(
            `first bad row: ${result.firstBad.seq} (${result.firstBad.reason})`
          )
        }
        if (!anchorsOk) throw new SecurityLogTamperedError('an anchor of the security log does not check out')
      })
    )

  audit
    .command('verify <dataHash>')
    .description('look a data hash up on chain and check the local receipts and proofs')
    .action((dataHash: string) => {
      if (!DATA_HASH_PATTERN.test(dataHash)) throw new UsageError('dataHash must be 64 lowercase hex digits')
      return withService(async (service) => {
        await service.connect()
        const result = await service.verify(dataHash)
        ctx.print(JSON.stringify(result))
        if (!result.verified) throw new AuditVerificationFailedError(`${dataHash} is not verified on chain`)
      })
    })

  audit
    .command('history')
    .description('shares in the local event index, newest first')
    .option('--data-hash <hash>')
    .option('--sender <peerId>')
    .option('--recipient <peerId>')
    .option('--tier <tier>')
    .option('--limit <n>', 'at most this many', '100')
    .action((o: { dataHash?: string; sender?: string; recipient?: string; tier?: string; limit: string }) =>
      withService((service) => {
        const rows = service.history({
          ...(o.dataHash ? { dataHash: o.dataHash } : {}),
          ...(o.sender ? { sender: o.sender } : {}),
          ...(o.recipient ? { recipient: o.recipient } : {}),
          ...(o.tier ? { tier: o.tier } : {}),
          limit: Number(o.limit)
        })
        for (const row of rows) ctx.print(JSON.stringify(row))
      })
    )

  audit
    .command('outbox')
    .description('audit events waiting for or done with the chain')
    .option('--state <state>', AUDIT_STATES.join(' | '))
    .action((o: { state?: AuditState }) =>
      withService((service) => {
        for (const row of service.listOutbox(o.state ? { state: o.state } : {}))
          ctx.print(JSON.stringify(row))
      })
    )

  audit
    .command('retry <id>')
    .description('queue a failed outbox event again')
    .action((id: string) =>
      withService((service) => {
        if (!/^\d+$/.test(id)) throw new UsageError('id must be a number')
        service.retryOutbox(Number(id))
        ctx.print(`outbox ${id} queued`)
      })
    )
}
