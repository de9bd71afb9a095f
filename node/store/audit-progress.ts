import type { AuditState } from '../core/share.ts'
import type { Db } from './database.ts'

/**
 * Read-only queries over the audit trail's tables (`outbox`, `audit_batches`, `audit_events`) for
 * the APIs: where a share's audit stands, and which outbox entries got confirmed. The audit adapter
 * owns and writes these tables; nothing here changes them.
 */

/** An outbox entry of a share, with its transaction (its own, or its batch's). */
export interface ShareOutboxEntry {
  readonly kind: string
  readonly state: AuditState
  readonly txHash: string | null
}

/** An outbox entry as the confirmation watcher follows it. */
export interface OutboxProgress {
  readonly id: number
  readonly kind: string
  readonly shareId: string | null
  readonly dataHash: string | null
  readonly state: AuditState
  readonly txHash: string | null
}

/** Repository of audit progress. */
export class AuditProgressRepository {
  readonly #ofShare
  readonly #anchoredTx
  readonly #maxId
  readonly #unsettled
  readonly #after
  readonly #progress

  constructor(db: Db) {
    this.#ofShare = db.prepare<[string], ShareOutboxEntry>(
      `SELECT o.kind, o.state, COALESCE(o.tx_hash, b.tx_hash) AS txHash
       FROM outbox o LEFT JOIN audit_batches b ON b.id = o.batch_id
       WHERE o.share_id = ? AND o.kind IN ('share', 'receipt')`
    )
    this.#anchoredTx = db.prepare<[string], { tx_hash: string }>(
      `SELECT tx_hash FROM audit_events WHERE share_id = ?
       ORDER BY event_name = 'ReceiptAnchored' DESC, block_number DESC LIMIT 1`
    )
    this.#maxId = db.prepare<[], { id: number }>('SELECT coalesce(max(id), 0) AS id FROM outbox')
    this.#unsettled = db.prepare<[], { id: number }>(
      `SELECT id FROM outbox WHERE state IN ('pending', 'sent', 'failed')`
    )
    this.#after = db.prepare<[number], { id: number }>(
      'SELECT id FROM outbox WHERE id > ? ORDER BY id LIMIT 1000'
    )
    this.#progress = db.prepare<[string], OutboxProgress>(
      `SELECT o.id, o.kind, o.share_id AS shareId, o.data_hash AS dataHash, o.state,
         COALESCE(o.tx_hash, b.tx_hash) AS txHash
       FROM outbox o LEFT JOIN audit_batches b ON b.id = o.batch_id
       WHERE o.id IN (SELECT value FROM json_each(?))`
    )
  }

  /** The share's own outbox entries (kinds `share` and `receipt`). */
  outboxOfShare(shareId: string): ShareOutboxEntry[] {
    return this.#ofShare.all(shareId)
  }

  /**
   * The transaction that anchored a share as this node's index of the chain saw it (a receipt's
   * event before the share's own, then the latest block); undefined when the index has none.
   */
  anchoredTxOf(shareId: string): string | undefined {
    return this.#anchoredTx.get(shareId)?.tx_hash
  }

  /** The highest outbox id so far (0 for an empty outbox). */
  lastOutboxId(): number {
    return (this.#maxId.get() as { id: number }).id
  }

  /** Ids of the outbox entries not settled yet (pending, sent, or failed and retryable by an operator). */
  unsettledOutboxIds(): number[] {
    return this.#unsettled.all().map((r) => r.id)
  }

  /** Ids of up to 1000 outbox entries after `id`, in order. */
  outboxIdsAfter(id: number): number[] {
    return this.#after.all(id).map((r) => r.id)
  }

  /** Where the outbox entries `ids` stand. */
  outboxProgress(ids: readonly number[]): OutboxProgress[] {
    return this.#progress.all(JSON.stringify(ids))
  }
}
