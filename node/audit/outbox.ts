/**
 * The durable outbox of audit events. The enqueue functions are synchronous on purpose: the p2p layer
 * calls them inside its own better-sqlite3 transaction, so an event commits or rolls back with the
 * share it belongs to (the outbox repository runs on the same connection, see AuditRepositories).
 * Calling one twice for the same share is a no-op.
 */
import { bundleReceipt, type SignedReceipt } from '../core/receipt.ts'
import type { AuditState } from '../core/share.ts'
import type { OutboxDepth, OutboxEntry, OutboxRepository } from '../store/outbox.ts'
import { InvalidAuditEventError, OutboxEntryNotFoundError } from './errors.ts'
import { canonicalShareRecord, receiptLeaf, type ShareEvent, shareLeaf } from './leaves.ts'
import { identityBodyOf, sameBinding } from './identity-record.ts'

export type { OutboxEntry } from '../store/outbox.ts'

// One page of the outbox at most (operators page with `afterId`): 1000, and one more by which the
// API tells whether another page follows.
const MAX_LIST = 1001

/**
 * Queues the record of a share (sender side, when the share is queued). Returns the outbox id, or
 * null when the share's event was queued before.
 */
export function enqueueShareEvent(outbox: OutboxRepository, event: ShareEvent): number | null {
  const payload = canonicalShareRecord(event)
  return outbox.enqueue({
    kind: 'share',
    shareId: event.shareId,
    dataHash: event.dataHash,
    payload,
    leaf: shareLeaf(event)
  })
}

/**
 * Queues the anchor of a share's signed delivery receipt (when the receipt is stored). The payload
 * keeps the receipt and its signature, so the leaf can be recomputed and shown as evidence.
 */
export function enqueueReceiptEvent(outbox: OutboxRepository, receipt: SignedReceipt): number | null {
  const leaf = receiptLeaf(receipt.body)
  if (typeof receipt.signature !== 'string' || receipt.signature.length === 0) {
    throw new InvalidAuditEventError('receipt event: missing signature')
  }
  const payload = JSON.stringify(bundleReceipt(receipt))
  return outbox.enqueue({
    kind: 'receipt',
    shareId: receipt.body.shareId,
    dataHash: receipt.body.dataHash,
    payload,
    leaf
  })
}

/**
 * Queues the registration of this node's identity record (its published text), unless the record
 * queued last binds the same PeerId, keys and account; returns the record in force.
 */
export function enqueueNodeRegistration(outbox: OutboxRepository, record: string): string {
  const body = identityBodyOf(record)
  const last = outbox.lastNodeRegistration()
  if (last !== undefined) {
    const lastRecord = String((JSON.parse(last) as Record<string, unknown>)['record'])
    if (sameBinding(identityBodyOf(lastRecord), body)) return lastRecord
  }
  outbox.enqueue({
    kind: 'node',
    shareId: null,
    dataHash: null,
    payload: JSON.stringify({ peerId: body.peerId, record }),
    leaf: null
  })
  return record
}

/** Hook for the p2p layer: a share was queued (call inside the share's transaction). */
export const onShareQueued = enqueueShareEvent
/** Hook for the p2p layer: a signed receipt was stored (call inside that transaction). */
export const onReceiptStored = (outbox: OutboxRepository, receipt: SignedReceipt): number | null =>
  enqueueReceiptEvent(outbox, receipt)

/** Outbox rows, newest first, optionally by state. */
export function listOutbox(
  outbox: OutboxRepository,
  opts: { state?: AuditState; limit?: number; afterId?: number } = {}
): OutboxEntry[] {
  return outbox.list({
    ...(opts.state ? { state: opts.state } : {}),
    ...(opts.afterId !== undefined ? { afterId: opts.afterId } : {}),
    limit: Math.min(opts.limit ?? 100, MAX_LIST)
  })
}

/** Puts a failed row (or a failed batch) back in the queue; a row that has not failed is left alone. */
export function retryOutbox(outbox: OutboxRepository, id: number): void {
  if (outbox.retryFailed(id) === 'missing') throw new OutboxEntryNotFoundError(`no outbox entry ${id}`)
}

/** Counts and age of what waits for the chain. */
export function outboxDepth(outbox: OutboxRepository): OutboxDepth {
  return outbox.depth()
}
