/**
 * The audit events of the share flow, in the shape of the p2p layer's transaction hooks. Both run
 * synchronously inside the p2p layer's SQLite transaction. Only the sender publishes: the recipient's
 * node writes nothing on chain for a share, so each share has one record and one receipt anchor.
 */
import type { SignedReceipt } from '../core/receipt.ts'
import type { Tier } from '../core/share.ts'
import type { OutboxRepository } from '../store/outbox.ts'
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

/**
 * The hooks as the p2p layer calls them. Its first argument is the p2p layer's open transaction; the
 * hooks do not write through it but through the outbox repository, which must be built over the
 * same connection: better-sqlite3 transactions are per connection, so the repository's insert runs
 * inside that open transaction and the share and its audit event commit (or roll back) together.
 */
export interface AuditHooks {
  onShareQueued(transaction: unknown, share: AuditedShare): void
  onReceiptStored(transaction: unknown, share: AuditedShare, receipt: SignedReceipt): void
}

/** What the hooks write to and whom they wake; `AuditService` is one. */
export interface AuditHooksComponents {
  /** Read at each call: the repository exists only once the store is open. */
  readonly outbox: OutboxRepository
  /** Wakes the publisher. */
  poke?(): void
}

/** Hooks to hand to the p2p service (`hooks: auditHooks(audit)`). */
export function auditHooks(components: AuditHooksComponents): AuditHooks {
  // The transaction is still open here; waking the publisher after it commits avoids a poll interval.
  const wake = () => {
    if (components.poke) setImmediate(() => components.poke?.())
  }
  return {
    onShareQueued(_transaction, share) {
      enqueueShareEvent(components.outbox, {
        shareId: share.shareId,
        dataHash: share.dataHash,
        sender: share.sender,
        recipient: share.recipient,
        tier: share.tier,
        timestamp: Date.parse(share.createdAt)
      })
      wake()
    },
    onReceiptStored(_transaction, _share, receipt) {
      enqueueReceiptEvent(components.outbox, receipt)
      wake()
    }
  }
}
