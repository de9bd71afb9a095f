/**
 * The audit events of the share flow, in the shape of the p2p layer's transaction hooks. Both run
 * synchronously inside the p2p layer's SQLite transaction. Which events a share produces is the
 * core's decision (node/core/audit-events.ts); these hooks only queue them in the outbox.
 */
import {
  type AuditedShare,
  eventsOfQueuedShare,
  eventsOfStoredReceipt,
  type ShareAuditEvent
} from '../core/audit-events.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import type { OutboxJobRow, OutboxRepository } from '../store/outbox.ts'
import { enqueueReceiptEvent, enqueueShareEvent } from './outbox.ts'

export type { AuditedShare }

/**
 * The hooks as the p2p layer calls them. Its first argument is the p2p layer's open transaction; the
 * hooks do not write through it but through the outbox repository, which must be built over the
 * same connection: better-sqlite3 transactions are per connection, so the repository's insert runs
 * inside that open transaction and the share and its audit event commit (or roll back) together.
 */
export interface AuditHooks {
  onShareQueued(transaction: unknown, share: AuditedShare): void
  onReceiptStored(transaction: unknown, share: AuditedShare, receipt: SignedReceipt): void
  /** An incoming share was stored: nothing goes on chain (its sender anchors it); the index looks. */
  onShareReceived(transaction: unknown, share: AuditedShare, receipt: SignedReceipt): void
}

/** What the hooks write to and whom they wake; `AuditService` is one. */
export interface AuditHooksComponents {
  /** Read at each call: the repository exists only once the store is open. */
  readonly outbox: OutboxRepository
  /** Wakes the publisher. */
  poke?(): void
  /** Wakes the recipient's index of the chain. */
  pokeInbound?(): void
  /**
   * Signs a queued share's record, or a stored receipt's anchor, now (per-share mode), in the
   * share's or the receipt's transaction, so the share's answer carries the transaction's hash and
   * the publisher only broadcasts; undefined when the publisher signs it later.
   */
  signAtAcceptance?(row: OutboxJobRow): string | undefined
}

/** Hooks to hand to the p2p service (`hooks: auditHooks(audit)`). */
export function auditHooks(components: AuditHooksComponents): AuditHooks {
  // The transaction is still open here; waking the publisher after it commits avoids a poll interval.
  const wake = () => {
    if (components.poke) setImmediate(() => components.poke?.())
  }
  const queue = (events: readonly ShareAuditEvent[]) => {
    for (const event of events) {
      const id =
        event.kind === 'share'
          ? enqueueShareEvent(components.outbox, event)
          : enqueueReceiptEvent(components.outbox, event.receipt)
      const row = id === null ? undefined : components.outbox.jobRow(id)
      if (row) components.signAtAcceptance?.(row)
    }
    if (events.length > 0) wake()
  }
  return {
    onShareQueued(_transaction, share) {
      queue(eventsOfQueuedShare(share))
    },
    onReceiptStored(_transaction, _share, receipt) {
      queue(eventsOfStoredReceipt(receipt))
    },
    onShareReceived() {
      // After the share's transaction commits, so the index finds the share row.
      if (components.pokeInbound) setImmediate(() => components.pokeInbound?.())
    }
  }
}
