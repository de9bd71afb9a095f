import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { checkBundle } from '../../audit/bundle-check.ts'
import { parseBundle, serializeBundle } from '../../audit/bundle-format.ts'
import { atomicWriteFileSync } from '../../crypto/atomic-file.ts'
import { bundleFromNode, nodeNotRunning } from '../audit-bundle.ts'
import { internalApiUrl } from '../node-identity.ts'
import {
  type AuditService,
  AuditVerificationFailedError,
  SecurityLogTamperedError
} from '../../audit/index.ts'
import { UsageError } from '../../core/errors.ts'
import { ResourceNotFoundError } from '../../core/ports.ts'
import { AUDIT_STATES, type AuditState, DATA_HASH_PATTERN } from '../../core/share.ts'
import { auditServiceOver } from '../audit-service.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray, printJsonObject } from '../json-output.ts'

interface HistoryOptions {
  dataHash?: string
  sender?: string
  recipient?: string
  tier?: string
  limit: string
  json?: boolean
}

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
        printJsonObject(ctx, { ...result, ok: result.ok && anchorsOk, anchors })
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
        printJsonObject(ctx, result)
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
    .option('--limit <n>', 'at most this many (1..1000)', '100')
    .option('--json', 'print one JSON array (timestamp in Unix seconds, as GET /v1/audit)')
    .action((o: HistoryOptions) => {
      const limit = Number(o.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UsageError('--limit must be 1..1000')
      return withService((service) => {
        const rows = service.history({
          ...(o.dataHash ? { dataHash: o.dataHash } : {}),
          ...(o.sender ? { sender: o.sender } : {}),
          ...(o.recipient ? { recipient: o.recipient } : {}),
          ...(o.tier ? { tier: o.tier } : {}),
          limit
        })
        // The index keeps milliseconds; the API (GET /v1/audit) gives Unix seconds, and so does this.
        const seconds = rows.map((r) => ({
          ...r,
          timestamp: r.timestamp === null ? null : Math.floor(r.timestamp / 1000)
        }))
        if (o.json) return printJsonArray(ctx, seconds)
        if (rows.length === 0) ctx.print('no audit events')
        for (const r of rows) {
          const at = r.timestamp === null ? '-' : new Date(r.timestamp).toISOString()
          ctx.print(
            `${r.blockNumber}  ${r.event}  ${r.shareId ?? '-'}  ${r.dataHash ?? '-'}  ${r.tier ?? '-'}  ${at}  ${r.txHash}`
          )
        }
      })
    })

  audit
    .command('outbox')
    .description('audit events waiting for or done with the chain')
    .option('--state <state>', AUDIT_STATES.join(' | '))
    .option('--json', 'print one JSON array')
    .action((o: { state?: AuditState; json?: boolean }) => {
      if (o.state !== undefined && !(AUDIT_STATES as readonly string[]).includes(o.state))
        throw new UsageError(`--state must be one of ${AUDIT_STATES.join(', ')}`)
      return withService((service) => {
        const rows = service.listOutbox(o.state ? { state: o.state } : {})
        if (o.json) return printJsonArray(ctx, rows)
        if (rows.length === 0) ctx.print('the audit outbox is empty')
        for (const r of rows) {
          ctx.print(
            `${r.id}  ${r.kind}  ${r.state}  ${r.shareId ?? '-'}  attempts ${r.attempts}  ${r.txHash ?? '-'}  ${r.lastError ?? ''}`.trimEnd()
          )
        }
      })
    })

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

  audit
    .command('export <dataHash>')
    .description('the evidence bundle of a data hash (every share of it this node is party to), as JSON')
    .option('-o, --output <file>', 'write it to this file (default: stdout)')
    .action(async (dataHash: string, o: { output?: string }) => {
      if (!DATA_HASH_PATTERN.test(dataHash)) throw new UsageError('dataHash must be 64 lowercase hex digits')
      const config = ctx.config()
      const apiUrl = internalApiUrl(config)
      let bundle = await bundleFromNode(apiUrl, dataHash)
      if (!bundle) {
        if (!config.chain.rpcUrl) throw nodeNotRunning(apiUrl)
        // No node runs: with a configured chain, build it here from the database.
        bundle = await withDatabase(ctx, async (db) => {
          const service = auditServiceOver(ctx, () => db)
          await service.connect()
          return service.bundle(dataHash)
        })
        if (bundle.shares.length === 0)
          throw new ResourceNotFoundError('bundle', `this node is party to no share of ${dataHash}`)
      }
      const text = `${serializeBundle(parseBundle(bundle))}\n`
      if (o.output) atomicWriteFileSync(o.output, text)
      else process.stdout.write(text)
    })

  audit
    .command('check <file>')
    .description('check an evidence bundle against a chain, with no node, data directory or database')
    .requiredOption('--rpc <url>', 'JSON-RPC endpoint of the chain the bundle names')
    .option('--confirmations <n>', 'confirmations each anchor needs', '1')
    .option('--json', 'print the whole answer as JSON')
    .action(async (file: string, o: { rpc: string; confirmations: string; json?: boolean }) => {
      if (!/^\d+$/.test(o.confirmations)) throw new UsageError('--confirmations must be a whole number')
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, { cause: err })
      }
      const result = await checkBundle(text, { rpc: o.rpc, minConfirmations: Number(o.confirmations) })
      if (o.json) printJsonObject(ctx, result)
      else {
        for (const s of result.shares) {
          const outcome = s.verified
            ? `verified, ${s.confirmations} confirmations`
            : `NOT verified: ${s.reason}`
          ctx.print(`${s.shareId} ${s.sender} -> ${s.recipient} (${s.tier}): ${outcome}`)
        }
        ctx.print(result.verified ? `${result.dataHash}: verified` : `bundle NOT verified: ${result.reason}`)
      }
      if (!result.verified) throw new AuditVerificationFailedError(`bundle not verified: ${result.reason}`)
    })
}
