/**
 * What the event log adds to a share in the node's own process, without the HTTP runs' noise: the
 * store writes of one outgoing share's life (record, share row and audit outbox row in one
 * transaction at acceptance; the claim; the receipt; the audit transaction sent and confirmed),
 * each its own commit as in the node, on a database file with the node's settings (WAL,
 * synchronous=FULL), with the log's triggers in place and with them dropped, in alternating runs.
 * Both variants commit as often, so they wait for the disk alike; what the triggers add is work on
 * this process's CPU (and a few more bytes per commit). CPU time per share is therefore the figure,
 * the median over the runs of each variant: on a busy machine wall time mostly measures fsync
 * queues, the same for both.
 * Five events per share are written in the first case (accepted, delivered, audit sent, audit
 * confirmed, and the request's auth.success security row's event, which this does not include: one
 * more row of the same size).
 */
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { SignedReceipt } from '../../node/core/receipt.ts'
import { openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { OutboxRepository } from '../../node/store/outbox.ts'
import { RecordRepository } from '../../node/store/records.ts'
import { ShareRepository } from '../../node/store/shares.ts'
import { suspendEventTriggers } from '../../node/store/test-support/event-triggers.ts'

export interface EventLogCost {
  /** CPU time of the store work per share with the log's triggers, in milliseconds (median of runs). */
  readonly withLogCpuMs: number
  /** The same with the triggers dropped. */
  readonly withoutLogCpuMs: number
  /** withLogCpuMs - withoutLogCpuMs. */
  readonly addedCpuMs: number
  /** Wall time per share, both variants (medians), for reference. */
  readonly withLogWallMs: number
  readonly withoutLogWallMs: number
  readonly shares: number
}

const PEER = '12D3KooWA1111111111111111111111111111111111111111111'

export function eventLogStoreCost(dir: string, seconds: number): EventLogCost {
  const db = openDatabase(join(dir, 'event-log-bench.db'), { synchronous: 'FULL' })
  try {
    migrate(db)
    // The cipher is not what is priced here: both variants store the same bytes.
    const records = new RecordRepository(db, {
      encryptBytes: (p) => ({ keyVersion: 1, token: Uint8Array.from([0x80, ...p]) }),
      decryptBytes: (_v, token) => token.subarray(1),
      decrypt: (_v, token) => Buffer.from(token, 'base64url')
    })
    const shares = new ShareRepository(db)
    const outbox = new OutboxRepository(db)
    const plaintext = randomBytes(1024)
    let n = 0
    const oneShare = () => {
      const shareId = randomBytes(16).toString('hex')
      const dataHash = createHash('sha256').update(shareId).digest('hex')
      const outboxId = db.transaction(() => {
        const record = records.put(plaintext, dataHash)
        shares.insert({
          shareId,
          direction: 'out',
          recordId: record.id,
          dataHash,
          sender: PEER,
          recipient: PEER,
          tier: 'standard',
          state: 'queued'
        })
        return outbox.enqueue({ kind: 'share', shareId, dataHash, payload: '{}', leaf: dataHash })
      })()
      shares.claim(shareId)
      const receipt: SignedReceipt = {
        body: {
          v: 1,
          shareId,
          dataHash,
          sender: PEER,
          recipient: PEER,
          tier: 'standard',
          receivedAt: Date.now()
        },
        signature: 'c2ln'
      }
      shares.markDelivered(shareId, receipt)
      const txHash = `0x${randomBytes(32).toString('hex')}`
      if (outboxId !== null) {
        outbox.markSent(outboxId, txHash, n)
        outbox.markConfirmed(outboxId, txHash, n + 1)
      }
      n++
    }
    const run = (ms: number): { cpu: number; wall: number } => {
      const first = n
      const cpu = process.cpuUsage()
      const start = performance.now()
      while (performance.now() - start < ms) oneShare()
      const used = process.cpuUsage(cpu)
      const count = n - first
      return { cpu: (used.user + used.system) / 1000 / count, wall: (performance.now() - start) / count }
    }
    const RUNS = 6
    const slice = (seconds * 1000) / (2 * RUNS)
    run(200) // warm the statements and the file
    const withLog: { cpu: number; wall: number }[] = []
    const withoutLog: { cpu: number; wall: number }[] = []
    for (let i = 0; i < RUNS; i++) {
      withLog.push(run(slice))
      const restore = suspendEventTriggers(db)
      try {
        withoutLog.push(run(slice))
      } finally {
        restore()
      }
    }
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b)
      const mid = sorted.length >> 1
      return sorted.length % 2
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
    }
    const round = (x: number) => Math.round(x * 1000) / 1000
    const withCpu = median(withLog.map((r) => r.cpu))
    const withoutCpu = median(withoutLog.map((r) => r.cpu))
    return {
      withLogCpuMs: round(withCpu),
      withoutLogCpuMs: round(withoutCpu),
      addedCpuMs: round(withCpu - withoutCpu),
      withLogWallMs: round(median(withLog.map((r) => r.wall))),
      withoutLogWallMs: round(median(withoutLog.map((r) => r.wall))),
      shares: n
    }
  } finally {
    db.close()
  }
}
