/**
 * What the publisher sends next: a node registration, a formed batch, the next outbox row (per-share
 * mode) or a new batch (batch mode, every `batchSize` leaves or `batchIntervalSeconds`), or the
 * security log's head when an anchor is due.
 */
import type { Db } from '../store/database.ts'
import { batchJob, formBatch, type Job, jobFromKey, logHeadJob, outboxJob } from './jobs.ts'
import type { SecurityLog } from './security-log.ts'

export interface JobQueueInit {
  readonly mode: 'per-share' | 'batch'
  readonly batchSize: number
  readonly batchIntervalSeconds: number
  readonly logAnchorIntervalSeconds: number
}

export class JobQueue {
  readonly #db: Db
  readonly #init: JobQueueInit
  readonly #securityLog: SecurityLog | undefined
  #flushRequested = false
  #lastLogAnchorMs = 0

  constructor(db: Db, init: JobQueueInit, securityLog?: SecurityLog) {
    this.#db = db
    this.#init = init
    this.#securityLog = securityLog
  }

  /** Batch mode: form a batch of whatever is pending at the next opportunity. */
  flush(): void {
    this.#flushRequested = true
  }

  /** Anchor the security log's head at the next opportunity (if it moved). */
  anchorLogNow(): void {
    this.#lastLogAnchorMs = 0
  }

  // Only rows in state 'pending' are candidates: a 'sent' one has its transaction in flight. A batch
  // waits until nothing is in flight, since its first sequence is read from the chain's state.
  next(busy: boolean): Job | undefined {
    const db = this.#db
    const node = db
      .prepare(
        `SELECT id, kind, share_id, data_hash, payload, leaf FROM outbox WHERE kind = 'node' AND state = 'pending' ORDER BY id LIMIT 1`
      )
      .get()
    if (node) return outboxJob(node as Parameters<typeof outboxJob>[0])
    if (!busy) {
      const batch = db
        .prepare(
          `SELECT id, root, count, first_sequence FROM audit_batches WHERE state = 'pending' ORDER BY id LIMIT 1`
        )
        .get()
      if (batch) return batchJob(batch as Parameters<typeof batchJob>[0])
    }
    if (this.#init.mode === 'per-share') {
      const row = db
        .prepare(
          `SELECT id, kind, share_id, data_hash, payload, leaf FROM outbox WHERE state = 'pending' AND batch_id IS NULL AND kind IN ('share', 'receipt') ORDER BY id LIMIT 1`
        )
        .get()
      if (row) return outboxJob(row as Parameters<typeof outboxJob>[0])
    } else if (!busy && this.#batchDue()) {
      this.#flushRequested = false
      const id = formBatch(db, this.#init.batchSize)
      if (id !== null) return jobFromKey(db, `batch:${id}`)
    }
    return this.#logHeadDue()
  }

  #batchDue(): boolean {
    const r = this.#db
      .prepare(
        `SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE state = 'pending' AND batch_id IS NULL AND kind IN ('share', 'receipt')`
      )
      .get() as { n: number; oldest: string | null }
    if (r.n === 0) return false
    if (this.#flushRequested || r.n >= this.#init.batchSize) return true
    return r.oldest !== null && Date.now() - Date.parse(r.oldest) >= this.#init.batchIntervalSeconds * 1000
  }

  #logHeadDue(): Job | undefined {
    const log = this.#securityLog
    if (!log) return undefined
    const db = this.#db
    const pending = db
      .prepare(`SELECT seq, head FROM security_log_anchors WHERE state = 'pending' ORDER BY seq LIMIT 1`)
      .get()
    if (pending) return logHeadJob(pending as { seq: number; head: string })
    if (Date.now() - this.#lastLogAnchorMs < this.#init.logAnchorIntervalSeconds * 1000) return undefined
    this.#lastLogAnchorMs = Date.now()
    const anchor = log.prepareAnchor()
    return anchor ? logHeadJob(anchor) : undefined
  }
}
