import type { Tier } from '../core/share.ts'
import type { Db } from './database.ts'
import { InboundAuditTriggersMissingError } from './errors.ts'
import { missingTriggers } from './triggers.ts'

/**
 * The recipient's side of the event index: which indexed contract events (`audit_events`) name a
 * share this node received (`shares`, direction 'in'), and their attribution. An event is attributed
 * (its sender, recipient, tier and time filled) only once node/audit has found its submitter to be
 * the account bound to the share's sender; until then, and forever when it is not, its sender stays
 * null and it is no evidence of the share. Nothing here decides that: this keeps the answer.
 */

/** An indexed, unattributed share event beside the inbound share it names. */
export interface InboundCandidate {
  readonly txHash: string
  readonly logIndex: number
  readonly eventName: 'ShareRecorded' | 'ReceiptAnchored'
  readonly submitter: string | null
  /** The event's own data hash and recipient hash (ShareRecorded); null for a receipt anchor. */
  readonly eventDataHash: string | null
  readonly eventRecipientHash: string | null
  /** The receipt hash a ReceiptAnchored carries. */
  readonly receiptHash: string | null
  readonly shareId: string
  readonly dataHash: string
  readonly sender: string
  readonly recipient: string
  readonly tier: Tier
  /** JSON of the receipt this node signed (UTF-8). */
  readonly receipt: Uint8Array | null
}

/** What attribution fills in an event's row. */
export interface Attribution {
  readonly txHash: string
  readonly logIndex: number
  readonly dataHash: string
  readonly sender: string
  readonly recipient: string
  readonly senderHash: string
  readonly recipientHash: string
  readonly tier: Tier
  /** Unix ms. */
  readonly timestampMs: number
}

// An event that is no batch leaf is stored with leaf index -1 (node/store/audit-events.ts).
const NO_LEAF = -1

/**
 * An event `a` that anchors a receipt: its own event, or a batch leaf carrying the receipt's hash.
 * The triggers of migrations/0017_inbound_audit_pending.sql spell the same condition out.
 */
export const RECEIPT_EVENT = `(a.event_name = 'ReceiptAnchored' OR (a.event_name = 'BatchLeaf' AND a.receipt_hash IS NOT NULL))`

/**
 * The triggers that keep `inbound_audit_pending` (migrations/0017_inbound_audit_pending.sql) exact:
 * the inbound shares with no attributed receipt anchor yet, as `outstandingShareIds` reads them.
 */
export const INBOUND_AUDIT_TRIGGERS: readonly string[] = [
  'inbound_pending_share_received',
  'inbound_pending_share_changed',
  'inbound_pending_share_deleted',
  'inbound_pending_receipt_indexed',
  'inbound_pending_receipt_attributed',
  'inbound_pending_receipt_unattributed',
  'inbound_pending_receipt_deleted'
]

/**
 * Throws InboundAuditTriggersMissingError when the table of waiting inbound shares exists but a
 * trigger that keeps it is gone (a later migration rebuilt shares or audit_events): the recipient
 * would wait for shares whose audit it has, or stop waiting for shares whose audit it lost.
 */
export function checkInboundAuditTriggers(db: Db): void {
  const missing = missingTriggers(db, 'inbound_audit_pending', INBOUND_AUDIT_TRIGGERS)
  if (missing.length > 0) {
    throw new InboundAuditTriggersMissingError(
      `the triggers ${missing.join(', ')} of inbound_audit_pending are missing: a migration rebuilt their table after 0017_inbound_audit_pending.sql; a migration must create them again`
    )
  }
}

/** Repository of the inbound shares' audit events; statements prepared once. */
export class InboundAuditRepository {
  readonly #candidates
  readonly #attribute
  readonly #outstanding

  constructor(db: Db) {
    // Only for shares that have no attributed event of that kind yet: once one counts, others are moot.
    this.#candidates = db.prepare<[{ no_leaf: number }], InboundCandidate>(
      `SELECT e.tx_hash AS txHash, e.log_index AS logIndex, e.event_name AS eventName, e.submitter,
         CASE WHEN e.event_name = 'ShareRecorded' THEN e.data_hash END AS eventDataHash,
         CASE WHEN e.event_name = 'ShareRecorded' THEN e.recipient_hash END AS eventRecipientHash,
         e.receipt_hash AS receiptHash, s.share_id AS shareId, s.data_hash AS dataHash, s.sender, s.recipient,
         s.tier, s.receipt
       FROM audit_events e JOIN shares s ON s.share_id = e.share_id AND s.direction = 'in'
       WHERE e.sender IS NULL AND e.leaf_index = @no_leaf
         AND e.event_name IN ('ShareRecorded', 'ReceiptAnchored')
         AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.share_id = e.share_id
           AND a.event_name = e.event_name AND a.sender IS NOT NULL)
       ORDER BY e.block_number, e.log_index`
    )
    this.#attribute = db.prepare<[Attribution & { no_leaf: number }]>(
      `UPDATE audit_events SET data_hash = @dataHash, sender = @sender, recipient = @recipient,
         sender_hash = @senderHash, recipient_hash = @recipientHash, tier = @tier, timestamp_ms = @timestampMs
       WHERE tx_hash = @txHash AND log_index = @logIndex AND leaf_index = @no_leaf AND sender IS NULL`
    )
    // The triggers of migrations/0017_inbound_audit_pending.sql keep the table to the inbound shares
    // with no attributed RECEIPT_EVENT, so this reads the waiting shares alone, by its index.
    this.#outstanding = db.prepare<[{ since: string; limit: number }], { share_id: string }>(
      `SELECT share_id FROM inbound_audit_pending WHERE created_at >= @since
       ORDER BY created_at DESC, share_id LIMIT @limit`
    )
  }

  /** Indexed, unattributed share events of inbound shares, oldest block first. */
  candidates(): InboundCandidate[] {
    return this.#candidates.all({ no_leaf: NO_LEAF })
  }

  /** Fills an event's row with its share's parties; false when it is attributed already. */
  attribute(a: Attribution): boolean {
    return this.#attribute.run({ ...a, no_leaf: NO_LEAF }).changes === 1
  }

  /**
   * Inbound shares received at or after `since` (ISO-8601) whose receipt anchor (its own event, or a
   * receipt leaf of a batch) this node has not attributed yet, newest first (ties by share id), at
   * most `limit`: the shares whose audit the recipient is still waiting for.
   */
  outstandingShareIds(opts: { since: string; limit: number }): string[] {
    return this.#outstanding.all(opts).map((r) => r.share_id)
  }
}
