/**
 * Which audit events a share produces. Only the sender publishes: on queueing, the record of the
 * share; on a verified receipt, the receipt. The recipient writes nothing on chain for a share, so
 * each share has one record anchor and one receipt anchor.
 */
import type { SignedReceipt } from './receipt.ts'
import type { Tier } from './share.ts'

/** The record of a share as the audit trail anchors it. */
export interface ShareRecordEvent {
  readonly kind: 'share'
  readonly shareId: string
  readonly dataHash: string
  /** PeerId of the sender. */
  readonly sender: string
  /** PeerId of the recipient. */
  readonly recipient: string
  readonly tier: Tier
  /** When the share was queued, Unix ms. */
  readonly timestamp: number
}

/** The recipient's signed receipt, anchored by the sender. */
export interface ReceiptEvent {
  readonly kind: 'receipt'
  readonly receipt: SignedReceipt
}

export type ShareAuditEvent = ShareRecordEvent | ReceiptEvent

/** The fields of a share the events are made of. */
export interface AuditedShare {
  readonly shareId: string
  readonly dataHash: string
  readonly sender: string
  readonly recipient: string
  readonly tier: Tier
  /** ISO-8601; becomes the record's timestamp. */
  readonly createdAt: string
}

/** The events of an outgoing share that was just queued. */
export function eventsOfQueuedShare(share: AuditedShare): readonly ShareAuditEvent[] {
  return [
    {
      kind: 'share',
      shareId: share.shareId,
      dataHash: share.dataHash,
      sender: share.sender,
      recipient: share.recipient,
      tier: share.tier,
      timestamp: Date.parse(share.createdAt)
    }
  ]
}

/** The events of a verified receipt the sender stored. */
export function eventsOfStoredReceipt(receipt: SignedReceipt): readonly ShareAuditEvent[] {
  return [{ kind: 'receipt', receipt }]
}
