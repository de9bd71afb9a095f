import { type ShareAudit, type ShareView, shareView } from '../core/ports.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import type { AuditMode, AuditState, DeliveryState, ShareDirection, Tier } from '../core/share.ts'
import type { NewShare, StoredShare } from '../core/share-ports.ts'
import { type Db, relaxedCommitOf } from './database.ts'
import { RECEIPT_EVENT } from './inbound-audit.ts'

/**
 * Shares sent and received (table `shares`). Outgoing shares are the durable delivery queue: a row is
 * committed before any network I/O and moves queued -> delivering -> delivered | failed (back to
 * queued on a retryable error); one whose recipient address nobody was known by starts unresolved
 * and moves to queued (or failed) once looked up (node/core/share.ts has the state machine).
 * Incoming shares are stored once per share id ('received').
 * Rows are the core's `StoredShare`; the receipt column holds the signed receipt's JSON (UTF-8).
 */

interface RawShareRow {
  share_id: string
  direction: ShareDirection
  record_id: number
  data_hash: string
  sender: string
  recipient: string
  recipient_label: string | null
  tier: Tier
  state: DeliveryState
  receipt: Uint8Array | null
  attempts: number
  next_attempt_ms: number | null
  expires_ms: number | null
  last_error: string | null
  created_at: string
  updated_at: string
}

/** A share row with where its audit stands, read from the audit trail's tables in the same query. */
interface RawAuditedRow extends RawAuditColumns, RawShareRow {}

interface RawAuditColumns {
  /** The state of the share's receipt event, else of its share event; null when it has neither. */
  audit_state: AuditState | null
  audit_tx: string | null
  /** Without an outbox entry: `<tx hash> <recorded|confirmed>` of the attributed event that anchored it, packed so that one subquery answers both. */
  anchored: string | null
}

const COLUMNS =
  'share_id, direction, record_id, data_hash, sender, recipient, recipient_label, tier, state, receipt, attempts, next_attempt_ms, expires_ms, last_error, created_at, updated_at'

/**
 * Where a share `s` stands on the audit trail: its receipt's event before its own (at most one of
 * each, by the outbox's unique index), the transaction of the entry or of its batch; a share without
 * an outbox entry (a received one: its sender anchors it) is `recorded` once the event index holds
 * the sender's share record and `confirmed` once it holds the receipt's event (either as its own
 * event or as a leaf of the sender's batch; a receipt's leaf carries its hash, a share record's
 * none), a receipt's before the share's, then the latest block. Only attributed events count
 * (sender filled: submitted by an account bound to the share's sender); any other account's event
 * with the same id is none.
 */
const AUDIT_JOINS = `
  LEFT JOIN outbox r ON r.kind = 'receipt' AND r.share_id = s.share_id
  LEFT JOIN audit_batches rb ON rb.id = r.batch_id
  LEFT JOIN outbox q ON q.kind = 'share' AND q.share_id = s.share_id
  LEFT JOIN audit_batches qb ON qb.id = q.batch_id`
const AUDIT_COLUMNS = `
  COALESCE(r.state, q.state) AS audit_state,
  COALESCE(r.tx_hash, rb.tx_hash, q.tx_hash, qb.tx_hash) AS audit_tx,
  CASE WHEN r.id IS NULL AND q.id IS NULL THEN (
    SELECT a.tx_hash || ' ' || CASE WHEN ${RECEIPT_EVENT} THEN 'confirmed' ELSE 'recorded' END
    FROM audit_events a
    WHERE a.share_id = s.share_id AND a.sender IS NOT NULL
      AND a.event_name IN ('ShareRecorded', 'ReceiptAnchored', 'BatchLeaf')
    ORDER BY ${RECEIPT_EVENT} DESC, a.block_number DESC LIMIT 1
  ) END AS anchored`

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function encodeReceipt(receipt: SignedReceipt): Uint8Array {
  return encoder.encode(JSON.stringify(receipt))
}

function toShare(r: RawShareRow): StoredShare {
  return {
    shareId: r.share_id,
    direction: r.direction,
    recordId: r.record_id,
    dataHash: r.data_hash,
    sender: r.sender,
    recipient: r.recipient,
    recipientLabel: r.recipient_label,
    tier: r.tier,
    state: r.state,
    receipt: r.receipt ? (JSON.parse(decoder.decode(r.receipt)) as SignedReceipt) : null,
    attempts: r.attempts,
    nextAttemptMs: r.next_attempt_ms,
    expiresMs: r.expires_ms,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }
}

function toAudit(r: RawAuditColumns): ShareAudit {
  if (r.audit_state !== null) return { audit: r.audit_state, txHash: r.audit_tx }
  if (r.anchored === null) return { audit: 'pending', txHash: null }
  const [txHash, state] = r.anchored.split(' ') as [string, 'recorded' | 'confirmed']
  return { audit: state, txHash }
}

function toView(r: RawAuditedRow, mode: AuditMode): ShareView {
  return shareView(toShare(r), toAudit(r), mode)
}

const now = () => new Date().toISOString()

/** Repository over `shares`. Synchronous, so it composes inside a caller's `db.transaction()`. */
export class ShareRepository {
  readonly #insert
  readonly #get
  readonly #byDataHash
  readonly #outgoingTo
  readonly #due
  readonly #nextDue
  readonly #view
  readonly #views
  readonly #audit
  readonly #claim
  readonly #unclaim
  readonly #postponeRecipient
  readonly #advanceRecipient
  readonly #delivered
  readonly #retry
  readonly #failed
  readonly #resetInterrupted
  readonly #countByState
  readonly #unresolvedDue
  readonly #nextUnresolved
  readonly #resolved
  readonly #lookupAgain
  readonly #advanceAddress

  /** The delivery worker's bookkeeping (claim, give back, retry): redone after a power cut by the queue itself. */
  readonly #relaxed: <T>(work: () => T) => T

  constructor(db: Db) {
    this.#relaxed = relaxedCommitOf(db)
    this.#insert = db.prepare<unknown[], RawShareRow>(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, recipient_label, tier,
         state, receipt, next_attempt_ms, expires_ms, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`
    )
    this.#get = db.prepare<[string], RawShareRow>(`SELECT ${COLUMNS} FROM shares WHERE share_id = ?`)
    this.#byDataHash = db.prepare<[string], RawShareRow>(
      `SELECT ${COLUMNS} FROM shares WHERE data_hash = ? ORDER BY created_at DESC, share_id`
    )
    this.#outgoingTo = db.prepare<[string, string], RawShareRow>(
      `SELECT ${COLUMNS} FROM shares WHERE data_hash = ? AND recipient = ? AND direction = 'out' LIMIT 1`
    )
    this.#due = db.prepare<[number, number], RawShareRow>(
      `SELECT ${COLUMNS} FROM shares WHERE direction = 'out' AND state = 'queued'
         AND (next_attempt_ms IS NULL OR next_attempt_ms <= ?) ORDER BY next_attempt_ms, created_at LIMIT ?`
    )
    this.#nextDue = db.prepare<[], { due: number | null }>(
      `SELECT min(coalesce(next_attempt_ms, 0)) AS due FROM shares WHERE direction = 'out' AND state = 'queued'`
    )
    this.#view = db.prepare<[string], RawAuditedRow>(
      `SELECT s.*, ${AUDIT_COLUMNS} FROM (SELECT ${COLUMNS} FROM shares WHERE share_id = ?) s ${AUDIT_JOINS}`
    )
    // The page is cut first, so the audit trail is looked up for the shares shown only.
    this.#views = db.prepare<
      [{ state: DeliveryState | null; after: number | null; limit: number }],
      RawAuditedRow & { seq: number }
    >(
      // Newest first by rowid, the order rows were stored in: unique, increasing with every insert
      // (shares are never deleted and the node never runs VACUUM, so rowids never move), which makes
      // it the keyset of the list's pages.
      `SELECT s.*, ${AUDIT_COLUMNS}
       FROM (SELECT rowid AS seq, ${COLUMNS} FROM shares
             WHERE (@state IS NULL OR state = @state) AND (@after IS NULL OR rowid < @after)
             ORDER BY rowid DESC LIMIT @limit) s ${AUDIT_JOINS}
       ORDER BY s.seq DESC`
    )
    this.#audit = db.prepare<[string], RawAuditColumns>(
      `SELECT ${AUDIT_COLUMNS} FROM (SELECT ? AS share_id) s ${AUDIT_JOINS}`
    )
    this.#claim = db.prepare<[string, string]>(
      `UPDATE shares SET state = 'delivering', attempts = attempts + 1, updated_at = ?
         WHERE share_id = ? AND state = 'queued'`
    )
    this.#unclaim = db.prepare<[number, string, string]>(
      `UPDATE shares SET state = 'queued', attempts = max(0, attempts - 1), next_attempt_ms = ?, updated_at = ?
         WHERE share_id = ? AND state = 'delivering'`
    )
    this.#postponeRecipient = db.prepare<[number, string, string, number]>(
      `UPDATE shares SET next_attempt_ms = ?, updated_at = ?
         WHERE direction = 'out' AND state = 'queued' AND recipient = ?
           AND (next_attempt_ms IS NULL OR next_attempt_ms < ?)`
    )
    this.#advanceRecipient = db.prepare<[number, string, number]>(
      `UPDATE shares SET next_attempt_ms = ? WHERE direction = 'out' AND state = 'queued' AND recipient = ?
         AND next_attempt_ms > ?`
    )
    this.#delivered = db.prepare<[Uint8Array, string, string], RawShareRow>(
      `UPDATE shares SET state = 'delivered', receipt = ?, next_attempt_ms = NULL, last_error = NULL,
         updated_at = ? WHERE share_id = ? RETURNING ${COLUMNS}`
    )
    this.#retry = db.prepare<[number, string, string, string]>(
      `UPDATE shares SET state = 'queued', next_attempt_ms = ?, last_error = ?, updated_at = ? WHERE share_id = ?`
    )
    this.#failed = db.prepare<[string, string, string]>(
      `UPDATE shares SET state = 'failed', next_attempt_ms = NULL, last_error = ?, updated_at = ? WHERE share_id = ?`
    )
    this.#resetInterrupted = db.prepare<[string]>(
      `UPDATE shares SET state = 'queued', updated_at = ? WHERE direction = 'out' AND state = 'delivering'`
    )
    this.#countByState = db.prepare<[], { direction: string; state: string; n: number }>(
      'SELECT direction, state, count(*) AS n FROM shares GROUP BY direction, state'
    )
    this.#unresolvedDue = db.prepare<[number, number], RawShareRow>(
      `SELECT ${COLUMNS} FROM shares WHERE state = 'unresolved'
         AND (next_attempt_ms IS NULL OR next_attempt_ms <= ?) ORDER BY next_attempt_ms, created_at LIMIT ?`
    )
    this.#nextUnresolved = db.prepare<[], { due: number | null }>(
      `SELECT min(coalesce(next_attempt_ms, 0)) AS due FROM shares WHERE state = 'unresolved'`
    )
    this.#resolved = db.prepare<[string, number, string, string], RawShareRow>(
      `UPDATE shares SET state = 'queued', recipient = ?, next_attempt_ms = ?, last_error = NULL, updated_at = ?
         WHERE share_id = ? AND state = 'unresolved' RETURNING ${COLUMNS}`
    )
    this.#advanceAddress = db.prepare<[number, string, number]>(
      `UPDATE shares SET next_attempt_ms = ? WHERE state = 'unresolved' AND recipient = ? AND next_attempt_ms > ?`
    )
    this.#lookupAgain = db.prepare<[number, string, string, string]>(
      `UPDATE shares SET next_attempt_ms = ?, last_error = ?, updated_at = ?
         WHERE share_id = ? AND state = 'unresolved'`
    )
  }

  /** Writes a share and returns its row as stored. */
  insert(share: NewShare): StoredShare {
    const at = now()
    const raw = this.#insert.get(
      share.shareId,
      share.direction,
      share.recordId,
      share.dataHash,
      share.sender,
      share.recipient,
      share.recipientLabel ?? null,
      share.tier,
      share.state,
      share.receipt ? encodeReceipt(share.receipt) : null,
      share.nextAttemptMs ?? null,
      share.expiresMs ?? null,
      at,
      at
    )
    return toShare(raw as RawShareRow)
  }

  get(shareId: string): StoredShare | undefined {
    const raw = this.#get.get(shareId)
    return raw ? toShare(raw) : undefined
  }

  /** Shares of a record, newest first. */
  listByDataHash(dataHash: string): StoredShare[] {
    return this.#byDataHash.all(dataHash).map(toShare)
  }

  /** An outgoing share of `dataHash` addressed to `recipient`: the fetch protocol's permission. */
  findOutgoingTo(dataHash: string, recipient: string): StoredShare | undefined {
    const raw = this.#outgoingTo.get(dataHash, recipient)
    return raw ? toShare(raw) : undefined
  }

  /** Outgoing shares whose next attempt is due, oldest first. */
  listDue(nowMs: number, limit: number): StoredShare[] {
    return this.#due.all(nowMs, limit).map(toShare)
  }

  /** The earliest next attempt among queued outgoing shares. */
  nextDueMs(): number | undefined {
    const row = this.#nextDue.get()
    return row?.due ?? undefined
  }

  /** One share as the API shows it, with where its audit stands, in one query (`mode`: `chain.mode`). */
  view(shareId: string, mode: AuditMode): ShareView | undefined {
    const raw = this.#view.get(shareId)
    return raw ? toView(raw, mode) : undefined
  }

  /** The newest `limit` shares of either direction, optionally of one state, as the API shows them, in one query. */
  views(
    filter: { readonly state?: DeliveryState | undefined; readonly limit: number },
    mode: AuditMode
  ): ShareView[] {
    return this.page(filter, mode).shares
  }

  /**
   * A page of `views`: the `limit` newest shares stored before position `after` (all when absent),
   * and the position the next page starts after, null when none follows.
   */
  page(
    filter: {
      readonly state?: DeliveryState | undefined
      readonly limit: number
      readonly after?: number | undefined
    },
    mode: AuditMode
  ): { shares: ShareView[]; nextAfter: number | null } {
    // One more than asked for says whether another page follows without a second query.
    const rows = this.#views.all({
      state: filter.state ?? null,
      after: filter.after ?? null,
      limit: filter.limit + 1
    })
    const more = rows.length > filter.limit
    const page = more ? rows.slice(0, filter.limit) : rows
    return {
      shares: page.map((r) => toView(r, mode)),
      nextAfter: more ? (page[page.length - 1]?.seq ?? null) : null
    }
  }

  /** Where a share's audit stands (pending, with no transaction, when the trail knows nothing of it). */
  auditOf(shareId: string): ShareAudit {
    return toAudit(this.#audit.get(shareId) as RawAuditColumns)
  }

  /** Claims a queued share for an attempt; false when another worker or state change got there first. */
  claim(shareId: string): boolean {
    // A claim lost to a power cut leaves the share queued: it is sent again, and received once.
    return this.#relaxed(() => this.#claim.run(now(), shareId).changes === 1)
  }

  /** Gives a claimed share back to the queue, due at `nextAttemptMs`, without counting the attempt. */
  unclaim(shareId: string, nextAttemptMs: number): void {
    this.#relaxed(() => this.#unclaim.run(nextAttemptMs, now(), shareId))
  }

  /** Moves every queued outgoing share to `recipient` that is due earlier to `untilMs`; returns how many. */
  postponeRecipient(recipient: string, untilMs: number): number {
    return this.#postponeRecipient.run(untilMs, now(), recipient, untilMs).changes
  }

  /** Makes every queued outgoing share to `recipient` that is due later than `dueMs` due then; returns how many. */
  advanceRecipient(recipient: string, dueMs: number): number {
    return this.#advanceRecipient.run(dueMs, recipient, dueMs).changes
  }

  /** Marks a share delivered with its receipt; returns the updated row (undefined when there is none). */
  markDelivered(shareId: string, receipt: SignedReceipt): StoredShare | undefined {
    const raw = this.#delivered.get(encodeReceipt(receipt), now(), shareId)
    return raw ? toShare(raw) : undefined
  }

  markRetry(shareId: string, nextAttemptMs: number, error: string): void {
    this.#relaxed(() => this.#retry.run(nextAttemptMs, error, now(), shareId))
  }

  markFailed(shareId: string, error: string): void {
    this.#failed.run(error, now(), shareId)
  }

  /** After a crash an attempt may have been cut short: those shares go back to the queue. */
  resetInterrupted(): number {
    return this.#resetInterrupted.run(now()).changes
  }

  /** Unresolved shares whose next look-up is due, oldest first. */
  listUnresolvedDue(nowMs: number, limit: number): StoredShare[] {
    return this.#unresolvedDue.all(nowMs, limit).map(toShare)
  }

  /** The earliest next look-up among unresolved shares. */
  nextUnresolvedMs(): number | undefined {
    return this.#nextUnresolved.get()?.due ?? undefined
  }

  /**
   * Moves an unresolved share to queued for the PeerId `recipient`, due at `dueMs`; returns the
   * updated row, or undefined when the share is not unresolved (any more).
   */
  markResolved(shareId: string, recipient: string, dueMs: number): StoredShare | undefined {
    const raw = this.#resolved.get(recipient, dueMs, now(), shareId)
    return raw ? toShare(raw) : undefined
  }

  /** Makes every unresolved share to `address` (lower case) that is due later than `dueMs` due then; returns how many. */
  advanceUnresolved(address: string, dueMs: number): number {
    return this.#advanceAddress.run(dueMs, address, dueMs).changes
  }

  /** An unresolved share stays so: looked up again at `nextLookupMs`, with why it is not resolved yet. */
  markLookupAgain(shareId: string, nextLookupMs: number, error: string): void {
    this.#lookupAgain.run(nextLookupMs, error, now(), shareId)
  }

  countByState(): Record<string, number> {
    const rows = this.#countByState.all()
    return Object.fromEntries(rows.map((r) => [`${r.direction}:${r.state}`, r.n]))
  }
}
