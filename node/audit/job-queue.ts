/**
 * What the publisher sends next: a node registration, a formed batch, the next outbox row (per-share
 * mode) or a new batch (batch mode, every `batchSize` leaves or `batchIntervalSeconds`), or the
 * security log's head when an anchor is due.
 */
import type { AuditRepositories } from '../store/audit-repositories.ts'
import { batchJob, formBatch, type Job, jobFromKey, logHeadJob, outboxJob } from './jobs.ts'
import type { SecurityLog } from './security-log.ts'

export interface JobQueueInit {
  readonly mode: 'per-share' | 'batch'
  readonly batchSize: number
  readonly batchIntervalSeconds: number
  readonly logAnchorIntervalSeconds: number
}

export class JobQueue {
  readonly #repos: AuditRepositories
  readonly #init: JobQueueInit
  readonly #securityLog: SecurityLog | undefined
  #flushRequested = false
  #lastLogAnchorMs = 0

  constructor(repos: AuditRepositories, init: JobQueueInit, securityLog?: SecurityLog) {
    this.#repos = repos
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
    const repos = this.#repos
    const node = repos.outbox.nextNodeRegistration()
    if (node) return outboxJob(repos, node)
    if (!busy) {
      const batch = repos.batches.nextPending()
      if (batch) return batchJob(repos, batch)
    }
    if (this.#init.mode === 'per-share') {
      const row = repos.outbox.nextPendingLeaf()
      if (row) return outboxJob(repos, row)
    } else if (!busy && this.#batchDue()) {
      this.#flushRequested = false
      const id = formBatch(repos, this.#init.batchSize)
      if (id !== null) return jobFromKey(repos, `batch:${id}`)
    }
    return this.#logHeadDue()
  }

  #batchDue(): boolean {
    const { count, oldestAt } = this.#repos.outbox.pendingLeaves()
    if (count === 0) return false
    if (this.#flushRequested || count >= this.#init.batchSize) return true
    return oldestAt !== null && Date.now() - Date.parse(oldestAt) >= this.#init.batchIntervalSeconds * 1000
  }

  #logHeadDue(): Job | undefined {
    const log = this.#securityLog
    if (!log) return undefined
    const pending = this.#repos.securityLog.nextPendingAnchor()
    if (pending) return logHeadJob(this.#repos, pending)
    if (Date.now() - this.#lastLogAnchorMs < this.#init.logAnchorIntervalSeconds * 1000) return undefined
    this.#lastLogAnchorMs = Date.now()
    const anchor = log.prepareAnchor()
    return anchor ? logHeadJob(this.#repos, anchor) : undefined
  }
}
