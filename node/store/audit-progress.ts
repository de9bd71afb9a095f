import type { AuditState } from '../core/share.ts'
import type { Db } from './database.ts'

/**
 * Read-only queries over the audit trail's tables (`outbox`, `audit_batches`, `audit_events`) for
 * the APIs: where a share's audit stands. The audit adapter owns and writes these tables; nothing
 * here changes them.
 */

/** An outbox entry of a share, with its transaction (its own, or its batch's). */
export interface ShareOutboxEntry {
  readonly kind: string
  readonly state: AuditState
  readonly txHash: string | null
}

/** Repository of audit progress. */
export class AuditProgressRepository {
  readonly #ofShare
  readonly #anchoredTx

  constructor(db: Db) {
    this.#ofShare = db.prepare<[string], ShareOutboxEntry>(
      `SELECT o.kind, o.state, COALESCE(o.tx_hash, b.tx_hash) AS txHash
       FROM outbox o LEFT JOIN audit_batches b ON b.id = o.batch_id
       WHERE o.share_id = ? AND o.kind IN ('share', 'receipt')`
    )
    // Attributed events only (sender filled): an event from any other account is no evidence.
    this.#anchoredTx = db.prepare<[string], { tx_hash: string; event_name: string }>(
      `SELECT tx_hash, event_name FROM audit_events
       WHERE share_id = ? AND sender IS NOT NULL AND event_name IN ('ShareRecorded', 'ReceiptAnchored')
       ORDER BY event_name = 'ReceiptAnchored' DESC, block_number DESC LIMIT 1`
    )
  }

  /** The share's own outbox entries (kinds `share` and `receipt`). */
  outboxOfShare(shareId: string): ShareOutboxEntry[] {
    return this.#ofShare.all(shareId)
  }

  /**
   * Where a share anchored by another node stands, as this node's index of the chain saw it: the
   * receipt's attributed event (`confirmed`) before the share record's (`recorded`), latest block
   * first; undefined when the index holds neither.
   */
  anchorOf(
    shareId: string
  ): { readonly audit: 'recorded' | 'confirmed'; readonly txHash: string } | undefined {
    const row = this.#anchoredTx.get(shareId)
    if (!row) return undefined
    return { audit: row.event_name === 'ReceiptAnchored' ? 'confirmed' : 'recorded', txHash: row.tx_hash }
  }
}
