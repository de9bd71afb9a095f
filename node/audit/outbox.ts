/**
 * The durable outbox of audit events. The enqueue functions are synchronous on purpose: the p2p layer
 * calls them inside its own better-sqlite3 transaction, so an event commits or rolls back with the
 * share it belongs to. Calling one twice for the same share is a no-op.
 */
import type { SignedReceipt } from '../core/receipt.ts'
import type { AuditState } from '../core/share.ts'
import type { Db } from '../store/database.ts'
import { InvalidAuditEventError, OutboxEntryNotFoundError } from './errors.ts'
import { canonicalShareRecord, receiptLeaf, type ShareEvent, shareLeaf } from './leaves.ts'

const now = () => new Date().toISOString()

function insert(
  db: Db,
  kind: string,
  shareId: string | null,
  dataHash: string | null,
  payload: string,
  leaf: string | null
): number | null {
  const t = now()
  const info = db
    .prepare(
      `INSERT INTO outbox (kind, share_id, data_hash, payload, leaf, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`
    )
    .run(kind, shareId, dataHash, payload, leaf, t, t)
  return info.changes === 1 ? Number(info.lastInsertRowid) : null
}

/**
 * Queues the record of a share (sender side, when the share is queued). Returns the outbox id, or
 * null when the share's event was queued before.
 */
export function enqueueShareEvent(db: Db, event: ShareEvent): number | null {
  const payload = canonicalShareRecord(event)
  return insert(db, 'share', event.shareId, event.dataHash, payload, shareLeaf(event))
}

/**
 * Queues the anchor of a share's signed delivery receipt (when the receipt is stored). The payload
 * keeps the receipt and its signature, so the leaf can be recomputed and shown as evidence.
 */
export function enqueueReceiptEvent(db: Db, receipt: SignedReceipt): number | null {
  const leaf = receiptLeaf(receipt.body)
  if (typeof receipt.signature !== 'string' || receipt.signature.length === 0) {
    throw new InvalidAuditEventError('receipt event: missing signature')
  }
  const payload = JSON.stringify({ body: receipt.body, signature: receipt.signature })
  return insert(db, 'receipt', receipt.body.shareId, receipt.body.dataHash, payload, leaf)
}

/** Queues the registration of this node's identity (PeerId and signing-key fingerprint, 64 hex). */
export function enqueueNodeRegistration(
  db: Db,
  peerId: string,
  signingKeyFingerprint: string
): number | null {
  if (!/^[0-9a-f]{64}$/.test(signingKeyFingerprint)) {
    throw new InvalidAuditEventError('node registration: fingerprint must be 64 hex')
  }
  const exists = db.prepare(`SELECT 1 FROM outbox WHERE kind = 'node'`).get()
  if (exists) return null
  return insert(db, 'node', null, null, JSON.stringify({ peerId, signingKeyFingerprint }), null)
}

/** Hook for the p2p layer: a share was queued (call inside the share's transaction). */
export const onShareQueued = enqueueShareEvent
/** Hook for the p2p layer: a signed receipt was stored (call inside that transaction). */
export const onReceiptStored = (db: Db, receipt: SignedReceipt): number | null =>
  enqueueReceiptEvent(db, receipt)

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
  readonly createdAt: string
  readonly updatedAt: string
}

interface OutboxRow {
  id: number
  kind: string
  share_id: string | null
  data_hash: string | null
  leaf: string | null
  state: OutboxEntry['state']
  batch_id: number | null
  tx_hash: string | null
  block_number: number | null
  attempts: number
  last_error: string | null
  created_at: string
  updated_at: string
}

const toEntry = (r: OutboxRow): OutboxEntry => ({
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
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

/** Outbox rows, newest first, optionally by state. */
export function listOutbox(
  db: Db,
  opts: { state?: OutboxEntry['state']; limit?: number; afterId?: number } = {}
): OutboxEntry[] {
  const rows = db
    .prepare(
      `SELECT id, kind, share_id, data_hash, leaf, state, batch_id, tx_hash, block_number, attempts, last_error, created_at, updated_at
       FROM outbox WHERE (@state IS NULL OR state = @state) AND (@after IS NULL OR id < @after)
       ORDER BY id DESC LIMIT @limit`
    )
    .all({ state: opts.state ?? null, after: opts.afterId ?? null, limit: Math.min(opts.limit ?? 100, 1000) })
  return (rows as OutboxRow[]).map(toEntry)
}

/** Puts a failed row (or a failed batch) back in the queue. */
export function retryOutbox(db: Db, id: number): void {
  const row = db.prepare('SELECT state, batch_id FROM outbox WHERE id = ?').get(id) as
    | { state: string; batch_id: number | null }
    | undefined
  if (!row) throw new OutboxEntryNotFoundError(`no outbox entry ${id}`)
  if (row.state !== 'failed') return
  const t = now()
  db.transaction(() => {
    if (row.batch_id !== null) {
      db.prepare(
        `UPDATE audit_batches SET state = 'pending', last_error = NULL, updated_at = ? WHERE id = ?`
      ).run(t, row.batch_id)
      db.prepare(
        `UPDATE outbox SET state = 'pending', last_error = NULL, updated_at = ? WHERE batch_id = ?`
      ).run(t, row.batch_id)
    } else {
      db.prepare(
        `UPDATE outbox SET state = 'pending', last_error = NULL, next_attempt_ms = NULL, updated_at = ? WHERE id = ?`
      ).run(t, id)
    }
  })()
}

/** Counts and age of what waits for the chain. */
export function outboxDepth(db: Db): {
  pending: number
  sent: number
  failed: number
  oldestPendingAt: string | null
} {
  const r = db
    .prepare(
      `SELECT sum(state = 'pending') AS pending, sum(state = 'sent') AS sent, sum(state = 'failed') AS failed,
              min(CASE WHEN state IN ('pending', 'sent') THEN created_at END) AS oldest
       FROM outbox`
    )
    .get() as { pending: number | null; sent: number | null; failed: number | null; oldest: string | null }
  return { pending: r.pending ?? 0, sent: r.sent ?? 0, failed: r.failed ?? 0, oldestPendingAt: r.oldest }
}
