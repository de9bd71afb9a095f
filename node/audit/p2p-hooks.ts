/**
 * The audit events of the share flow, in the shape of the p2p layer's transaction hooks. Both run
 * synchronously inside the p2p layer's SQLite transaction. Only the sender publishes: the recipient's
 * node writes nothing on chain for a share, so each share has one record and one receipt anchor.
 */
import type { SignedReceipt } from '../core/receipt.ts'
import type { Tier } from '../core/share.ts'
import type { Db } from '../store/database.ts'
import { enqueueReceiptEvent, enqueueShareEvent } from './outbox.ts'

/** The fields of a share row the audit events need. */
export interface AuditedShare {
  readonly shareId: string
  readonly dataHash: string
  readonly sender: string
  readonly recipient: string
  readonly tier: Tier
  /** ISO-8601; becomes the record's timestamp (Unix ms). */
  readonly createdAt: string
}

export interface AuditHooks {
  onShareQueued(db: Db, share: AuditedShare): void
  onReceiptStored(db: Db, share: AuditedShare, receipt: SignedReceipt): void
}

/** Hooks to hand to the p2p service (`hooks: auditHooks(audit)`); `poke` wakes the publisher. */
export function auditHooks(audit?: { poke(): void }): AuditHooks {
  // The transaction is still open here; waking the publisher after it commits avoids a poll interval.
  const wake = () => {
    if (audit) setImmediate(() => audit.poke())
  }
  return {
    onShareQueued(db, share) {
      enqueueShareEvent(db, {
        shareId: share.shareId,
        dataHash: share.dataHash,
        sender: share.sender,
        recipient: share.recipient,
        tier: share.tier,
        timestamp: Date.parse(share.createdAt)
      })
      wake()
    },
    onReceiptStored(db, _share, receipt) {
      enqueueReceiptEvent(db, receipt)
      wake()
    }
  }
}
