import type { AuditState } from '../core/share.ts'
import type { Db } from './database.ts'

/**
 * The audit outbox (table `outbox`): one row per audit event (a share's record, a receipt's anchor,
 * the node's registration) from the moment it is queued until the chain confirmed it. Every method
 * is synchronous and runs on the connection it was built over, so inside a caller's
 * `db.transaction()` on that connection its writes commit or roll back with the caller's (the share
 * and its event commit together). Rows that travel in a batch are moved by AuditBatchRepository.
 */

/** An event to queue; `payload` is its canonical JSON, `leaf` the 64-hex hash it is anchored as. */
export interface NewOutboxEvent {
  readonly kind: string
  readonly shareId: string | null
  readonly dataHash: string | null
  readonly payload: string
  readonly leaf: string | null
}

/** An outbox row as operators see it (no payload). */
export interface OutboxEntry {
  readonly id: number
  readonly kind: string
  readonly shareId: string | null
  readonly dataHash: string | null
  readonly leaf: string | null
  readonly state: AuditState
  readonly batchId: number | null
  readonly txHash: string | null
  readonly blockNumber: number | null
  readonly attempts: number
  readonly lastError: string | null
  /** When a chain reset last took this event's confirmation away (it is queued again since). */
  readonly chainResetAt: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

/** What the publisher needs to send an event on its own. */
export interface OutboxJobRow {
  readonly id: number
  readonly kind: string
  readonly shareId: string | null
  readonly dataHash: string | null
  readonly payload: string
  readonly leaf: string | null
}

/** A share's event of a data hash with where it went on chain (for its evidence). */
export interface DataHashEventRow {
  readonly kind: 'share' | 'receipt'
  readonly shareId: string
  readonly payload: string
  readonly state: AuditState
  readonly txHash: string | null
  readonly batchId: number | null
  readonly leafIndex: number | null
}

/** A `DataHashEventRow` as SQLite returns it. */
interface DataHashEventRaw {
  kind: 'share' | 'receipt'
  share_id: string
  payload: string
  state: AuditState
  tx_hash: string | null
  batch_id: number | null
  leaf_index: number | null
}

function toEventRow(r: DataHashEventRaw): DataHashEventRow {
  return {
    kind: r.kind,
    shareId: r.share_id,
    payload: r.payload,
    state: r.state,
    txHash: r.tx_hash,
    batchId: r.batch_id,
    leafIndex: r.leaf_index
  }
}

/** Counts and age of what waits for the chain. */
export interface OutboxDepth {
  readonly pending: number
  readonly sent: number
  readonly failed: number
  readonly oldestPendingAt: string | null
}

/** How a retry went: the row is queued again, was not failed (left alone), or does not exist. */
export type OutboxRetry = 'requeued' | 'not-failed' | 'missing'

interface RawEntry {
  id: number
  kind: string
  share_id: string | null
  data_hash: string | null
  leaf: string | null
  state: AuditState
  batch_id: number | null
  tx_hash: string | null
  block_number: number | null
  attempts: number
  last_error: string | null
  chain_reset_at: string | null
  created_at: string
  updated_at: string
}

interface RawJobRow {
  id: number
  kind: string
  share_id: string | null
  data_hash: string | null
  payload: string
  leaf: string | null
}

// Aggregates without GROUP BY: always one row.
interface DepthRow {
  pending: number | null
  sent: number | null
  failed: number | null
  oldest: string | null
}

const toEntry = (r: RawEntry): OutboxEntry => ({
  id: r.id,
  kind: r.kind,
  shareId: r.share_id,
  dataHash: r.data_hash,
  leaf: r.leaf,
  state: r.state,
  batchId: r.batch_id,
  txHash: r.tx_hash,
  blockNumber: r.block_number,
  attempts: r.attempts,
  lastError: r.last_error,
  chainResetAt: r.chain_reset_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

const toJobRow = (r: RawJobRow): OutboxJobRow => ({
  id: r.id,
  kind: r.kind,
  shareId: r.share_id,
  dataHash: r.data_hash,
  payload: r.payload,
  leaf: r.leaf
})

const JOB_COLUMNS = 'id, kind, share_id, data_hash, payload, leaf'
// Share and receipt events are leaves (sent one by one, or batched); a node registration never is.
const LEAF = `state = 'pending' AND batch_id IS NULL AND kind IN ('share', 'receipt')`
// A sent row whose transaction is no longer among those in flight.
const ORPHANED = `state = 'sent' AND (tx_hash IS NULL OR tx_hash NOT IN (SELECT tx_hash FROM chain_txs WHERE state = 'sent'))`

const now = () => new Date().toISOString()

/** Repository over `outbox`; statements are prepared once, here. */
export class OutboxRepository {
  readonly #db: Db
  readonly #insert
  readonly #lastNode
  readonly #list
  readonly #retryTarget
  readonly #retryBatch
  readonly #retryBatchRows
  readonly #retryRow
  readonly #depth
  readonly #payload
  readonly #ofDataHash
  readonly #ofShare
  readonly #nextNode
  readonly #nextLeaf
  readonly #jobRow
  readonly #leafStats
  readonly #markSent
  readonly #markConfirmed
  readonly #markPending
  readonly #markFailed
  readonly #requeueOrphaned
  readonly #requeueRowsOfPendingBatches
  readonly #requeueSent
  readonly #requeueLostConfirmed

  constructor(db: Db) {
    this.#db = db
    this.#insert = db.prepare(
      `INSERT INTO outbox (kind, share_id, data_hash, payload, leaf, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`
    )
    this.#lastNode = db.prepare<[], { payload: string }>(
      `SELECT payload FROM outbox WHERE kind = 'node' ORDER BY id DESC LIMIT 1`
    )
    this.#list = db.prepare<[{ state: string | null; after: number | null; limit: number }], RawEntry>(
      `SELECT id, kind, share_id, data_hash, leaf, state, batch_id, tx_hash, block_number, attempts, last_error,
              chain_reset_at, created_at, updated_at
       FROM outbox WHERE (@state IS NULL OR state = @state) AND (@after IS NULL OR id < @after)
       ORDER BY id DESC LIMIT @limit`
    )
    this.#retryTarget = db.prepare<[number], { state: string; batch_id: number | null }>(
      'SELECT state, batch_id FROM outbox WHERE id = ?'
    )
    this.#retryBatch = db.prepare(
      `UPDATE audit_batches SET state = 'pending', last_error = NULL, updated_at = ? WHERE id = ?`
    )
    this.#retryBatchRows = db.prepare(
      `UPDATE outbox SET state = 'pending', last_error = NULL, updated_at = ? WHERE batch_id = ?`
    )
    this.#retryRow = db.prepare(
      `UPDATE outbox SET state = 'pending', last_error = NULL, next_attempt_ms = NULL, updated_at = ? WHERE id = ?`
    )
    // Through the state index: the time is that of the rows still waiting (or failed), not of every
    // confirmed row ever kept (the health check and metrics read it each second).
    this.#depth = db.prepare<[], DepthRow>(
      `SELECT sum(state = 'pending') AS pending, sum(state = 'sent') AS sent, sum(state = 'failed') AS failed,
              min(CASE WHEN state IN ('pending', 'sent') THEN created_at END) AS oldest
       FROM outbox WHERE state IN ('pending', 'sent', 'failed')`
    )
    this.#payload = db.prepare<[string, string], { payload: string }>(
      'SELECT payload FROM outbox WHERE kind = ? AND share_id = ?'
    )
    this.#ofDataHash = db.prepare<[string], DataHashEventRaw>(
      `SELECT kind, share_id, payload, state, tx_hash, batch_id, leaf_index FROM outbox
       WHERE data_hash = ? AND kind IN ('share', 'receipt') ORDER BY id`
    )
    this.#ofShare = db.prepare<[string], DataHashEventRaw>(
      `SELECT kind, share_id, payload, state, tx_hash, batch_id, leaf_index FROM outbox
       WHERE share_id = ? AND kind IN ('share', 'receipt') ORDER BY id`
    )
    this.#nextNode = db.prepare<[], RawJobRow>(
      `SELECT ${JOB_COLUMNS} FROM outbox WHERE kind = 'node' AND state = 'pending' ORDER BY id LIMIT 1`
    )
    this.#nextLeaf = db.prepare<[], RawJobRow>(
      `SELECT ${JOB_COLUMNS} FROM outbox WHERE ${LEAF} ORDER BY id LIMIT 1`
    )
    this.#jobRow = db.prepare<[number], RawJobRow>(`SELECT ${JOB_COLUMNS} FROM outbox WHERE id = ?`)
    this.#leafStats = db.prepare<[], { n: number; oldest: string | null }>(
      `SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE ${LEAF}`
    )
    this.#markSent = db.prepare(
      `UPDATE outbox SET state = 'sent', tx_hash = ?, tx_nonce = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`
    )
    this.#markConfirmed = db.prepare(
      `UPDATE outbox SET state = 'confirmed', tx_hash = ?, block_number = ?, last_error = NULL, updated_at = ? WHERE id = ?`
    )
    this.#markPending = db.prepare(
      `UPDATE outbox SET state = 'pending', last_error = ?, updated_at = ? WHERE id = ?`
    )
    this.#markFailed = db.prepare(
      `UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ? WHERE id = ?`
    )
    this.#requeueOrphaned = db.prepare(
      `UPDATE outbox SET state = 'pending', updated_at = ? WHERE batch_id IS NULL AND ${ORPHANED}`
    )
    this.#requeueRowsOfPendingBatches = db.prepare(
      `UPDATE outbox SET state = 'pending', updated_at = ?
       WHERE state = 'sent' AND batch_id IN (SELECT id FROM audit_batches WHERE state = 'pending')`
    )
    this.#requeueSent = db.prepare(`UPDATE outbox SET state = 'pending', updated_at = ? WHERE state = 'sent'`)
    this.#requeueLostConfirmed = db.prepare(
      `UPDATE outbox SET state = 'pending', tx_hash = NULL, tx_nonce = NULL, block_number = NULL,
         chain_reset_at = @at, last_error = @reason, updated_at = @at
       WHERE state = 'confirmed'`
    )
  }

  /** Queues an event; its id, or null when this kind of event of this share was queued before. */
  enqueue(event: NewOutboxEvent): number | null {
    const t = now()
    const info = this.#insert.run(event.kind, event.shareId, event.dataHash, event.payload, event.leaf, t, t)
    return info.changes === 1 ? Number(info.lastInsertRowid) : null
  }

  /** Whether the node's registration was ever queued (it is queued once per database). */
  /** The payload of the node registration queued last, if any. */
  lastNodeRegistration(): string | undefined {
    return (this.#lastNode.get() as { payload: string } | undefined)?.payload
  }

  /** Rows, newest first, optionally of one state and older than `afterId`. */
  list(opts: { state?: AuditState; limit: number; afterId?: number }): OutboxEntry[] {
    return this.#list
      .all({ state: opts.state ?? null, after: opts.afterId ?? null, limit: opts.limit })
      .map(toEntry)
  }

  /** Puts a failed row back in the queue; a failed batch goes back whole, with all its rows. */
  retryFailed(id: number): OutboxRetry {
    return this.#db.transaction((): OutboxRetry => {
      const row = this.#retryTarget.get(id)
      if (!row) return 'missing'
      if (row.state !== 'failed') return 'not-failed'
      const t = now()
      if (row.batch_id !== null) {
        this.#retryBatch.run(t, row.batch_id)
        this.#retryBatchRows.run(t, row.batch_id)
      } else {
        this.#retryRow.run(t, id)
      }
      return 'requeued'
    })()
  }

  depth(): OutboxDepth {
    const r = this.#depth.get() as DepthRow
    return { pending: r.pending ?? 0, sent: r.sent ?? 0, failed: r.failed ?? 0, oldestPendingAt: r.oldest }
  }

  /** The stored canonical payload of a share's event of `kind` ('share' or 'receipt'). */
  payloadOf(kind: string, shareId: string): string | undefined {
    return this.#payload.get(kind, shareId)?.payload
  }

  /** The share and receipt events of a data hash, oldest first. */
  eventsOfDataHash(dataHash: string): DataHashEventRow[] {
    return this.#ofDataHash.all(dataHash).map(toEventRow)
  }

  /** The share and receipt events of one share, oldest first (migration 0016 indexes them). */
  eventsOfShare(shareId: string): DataHashEventRow[] {
    return this.#ofShare.all(shareId).map(toEventRow)
  }

  /** The oldest pending node registration. */
  nextNodeRegistration(): OutboxJobRow | undefined {
    const r = this.#nextNode.get()
    return r ? toJobRow(r) : undefined
  }

  /** The oldest pending share or receipt event not in a batch. */
  nextPendingLeaf(): OutboxJobRow | undefined {
    const r = this.#nextLeaf.get()
    return r ? toJobRow(r) : undefined
  }

  jobRow(id: number): OutboxJobRow | undefined {
    const r = this.#jobRow.get(id)
    return r ? toJobRow(r) : undefined
  }

  /** How many share and receipt events wait for a batch, and when the oldest was queued. */
  pendingLeaves(): { readonly count: number; readonly oldestAt: string | null } {
    const r = this.#leafStats.get() as { n: number; oldest: string | null }
    return { count: r.n, oldestAt: r.oldest }
  }

  markSent(id: number, txHash: string, nonce: number): void {
    this.#markSent.run(txHash, nonce, now(), id)
  }

  markConfirmed(id: number, txHash: string, blockNumber: number): void {
    this.#markConfirmed.run(txHash, blockNumber, now(), id)
  }

  /** Back to the queue, with the reason its transaction did not count. */
  markPending(id: number, reason: string): void {
    this.#markPending.run(reason, now(), id)
  }

  markFailed(id: number, reason: string): void {
    this.#markFailed.run(reason, now(), id)
  }

  /** Single rows marked sent whose transaction is no longer in flight go back to the queue. */
  requeueOrphaned(): number {
    return this.#requeueOrphaned.run(now()).changes
  }

  /** Rows marked sent whose batch went back to the queue follow it. */
  requeueRowsOfPendingBatches(): number {
    return this.#requeueRowsOfPendingBatches.run(now()).changes
  }

  /**
   * Every confirmed row goes back to the queue, marked with the reset (`chain_reset_at`) and its
   * reason: its confirmation was on a chain that is gone. Returns how many.
   */
  requeueLostConfirmed(reason: string): number {
    return this.#requeueLostConfirmed.run({ at: now(), reason }).changes
  }

  /** Every row marked sent goes back to the queue (its transaction belongs to another chain). */
  requeueAllSent(): number {
    return this.#requeueSent.run(now()).changes
  }
}
