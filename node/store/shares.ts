import type { DeliveryState, ShareDirection, Tier } from '../core/share.ts'
import type { NewShare as CoreNewShare } from '../core/share-ports.ts'
import type { Db } from './database.ts'

/**
 * Shares sent and received (table `shares`). Outgoing shares are the durable delivery queue: a row is
 * committed before any network I/O and moves queued -> delivering -> delivered | failed (back to
 * queued on a retryable error). Incoming shares are stored once per share id ('received').
 */

export interface ShareRow {
  readonly shareId: string
  readonly direction: ShareDirection
  readonly recordId: number
  readonly dataHash: string
  readonly sender: string
  readonly recipient: string
  readonly recipientLabel: string | null
  readonly tier: Tier
  readonly state: DeliveryState
  /** JSON of the signed receipt (UTF-8), once there is one. */
  readonly receipt: Uint8Array | null
  readonly attempts: number
  readonly nextAttemptMs: number | null
  readonly expiresMs: number | null
  readonly lastError: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

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

/** A share to write (the core's `NewShare`), its receipt already encoded as the column stores it. */
export type NewShare = Omit<CoreNewShare, 'receipt'> & {
  /** JSON of the signed receipt (UTF-8). */
  readonly receipt?: Uint8Array
}

const COLUMNS =
  'share_id, direction, record_id, data_hash, sender, recipient, recipient_label, tier, state, receipt, attempts, next_attempt_ms, expires_ms, last_error, created_at, updated_at'

function toRow(r: RawShareRow): ShareRow {
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
    receipt: r.receipt,
    attempts: r.attempts,
    nextAttemptMs: r.next_attempt_ms,
    expiresMs: r.expires_ms,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }
}

const now = () => new Date().toISOString()

type ListFilter = { direction?: ShareDirection; state?: DeliveryState; limit?: number; offset?: number }

/** Repository over `shares`. Synchronous, so it composes inside a caller's `db.transaction()`. */
export class ShareRepository {
  readonly #insert
  readonly #get
  readonly #byDataHash
  readonly #outgoingTo
  readonly #due
  readonly #nextDue
  /** `list` by filter: one statement per combination, so each keeps its own query plan. */
  readonly #list
  readonly #ids
  readonly #claim
  readonly #unclaim
  readonly #postponeRecipient
  readonly #advanceRecipient
  readonly #setNextAttempt
  readonly #delivered
  readonly #retry
  readonly #failed
  readonly #requeue
  readonly #resetInterrupted
  readonly #countByState

  constructor(db: Db) {
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
    const list = (where: string) =>
      db.prepare<unknown[], RawShareRow>(
        `SELECT ${COLUMNS} FROM shares ${where} ORDER BY created_at DESC, share_id LIMIT ? OFFSET ?`
      )
    this.#list = {
      all: list(''),
      direction: list('WHERE direction = ?'),
      state: list('WHERE state = ?'),
      both: list('WHERE direction = ? AND state = ?')
    }
    this.#ids = db.prepare<[{ state: DeliveryState | null; limit: number }], { share_id: string }>(
      `SELECT share_id FROM shares WHERE (@state IS NULL OR state = @state)
       ORDER BY created_at DESC, share_id LIMIT @limit`
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
    this.#setNextAttempt = db.prepare<[number, string]>(
      'UPDATE shares SET next_attempt_ms = ? WHERE share_id = ?'
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
    this.#requeue = db.prepare<[number, number, string, string]>(
      `UPDATE shares SET state = 'queued', next_attempt_ms = ?, expires_ms = ?, updated_at = ?
         WHERE share_id = ? AND direction = 'out' AND state = 'failed'`
    )
    this.#resetInterrupted = db.prepare<[string]>(
      `UPDATE shares SET state = 'queued', updated_at = ? WHERE direction = 'out' AND state = 'delivering'`
    )
    this.#countByState = db.prepare<[], { direction: string; state: string; n: number }>(
      'SELECT direction, state, count(*) AS n FROM shares GROUP BY direction, state'
    )
  }

  insert(share: NewShare): ShareRow {
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
      share.receipt ?? null,
      share.nextAttemptMs ?? null,
      share.expiresMs ?? null,
      at,
      at
    )
    return toRow(raw as RawShareRow)
  }

  get(shareId: string): ShareRow | undefined {
    const raw = this.#get.get(shareId)
    return raw ? toRow(raw) : undefined
  }

  /** Shares of a record, newest first. */
  listByDataHash(dataHash: string): ShareRow[] {
    return this.#byDataHash.all(dataHash).map(toRow)
  }

  /** An outgoing share of `dataHash` addressed to `recipient`: the fetch protocol's permission. */
  findOutgoingTo(dataHash: string, recipient: string): ShareRow | undefined {
    const raw = this.#outgoingTo.get(dataHash, recipient)
    return raw ? toRow(raw) : undefined
  }

  /** Outgoing shares whose next attempt is due, oldest first. */
  listDue(nowMs: number, limit: number): ShareRow[] {
    return this.#due.all(nowMs, limit).map(toRow)
  }

  /** The earliest next attempt among queued outgoing shares. */
  nextDueMs(): number | undefined {
    const row = this.#nextDue.get()
    return row?.due ?? undefined
  }

  /** Shares, optionally of one direction and state, newest first. */
  list(opts: ListFilter = {}): ShareRow[] {
    const page = [opts.limit ?? 100, opts.offset ?? 0]
    const rows =
      opts.direction && opts.state
        ? this.#list.both.all(opts.direction, opts.state, ...page)
        : opts.direction
          ? this.#list.direction.all(opts.direction, ...page)
          : opts.state
            ? this.#list.state.all(opts.state, ...page)
            : this.#list.all.all(...page)
    return rows.map(toRow)
  }

  /** Outgoing shares, optionally of one state, newest first: the delivery list. */
  listOutgoing(opts: { state?: DeliveryState; limit?: number; offset?: number } = {}): ShareRow[] {
    return this.list({ ...opts, direction: 'out' })
  }

  /** Ids of the newest `limit` shares of either direction, optionally of one state, newest first. */
  listIds(opts: { state?: DeliveryState | undefined; limit: number }): string[] {
    return this.#ids.all({ state: opts.state ?? null, limit: opts.limit }).map((r) => r.share_id)
  }

  /** Claims a queued share for an attempt; false when another worker or state change got there first. */
  claim(shareId: string): boolean {
    return this.#claim.run(now(), shareId).changes === 1
  }

  /** Gives a claimed share back to the queue, due at `nextAttemptMs`, without counting the attempt. */
  unclaim(shareId: string, nextAttemptMs: number): void {
    this.#unclaim.run(nextAttemptMs, now(), shareId)
  }

  /** Moves every queued outgoing share to `recipient` that is due earlier to `untilMs`; returns how many. */
  postponeRecipient(recipient: string, untilMs: number): number {
    return this.#postponeRecipient.run(untilMs, now(), recipient, untilMs).changes
  }

  /** Makes every queued outgoing share to `recipient` that is due later than `dueMs` due then; returns how many. */
  advanceRecipient(recipient: string, dueMs: number): number {
    return this.#advanceRecipient.run(dueMs, recipient, dueMs).changes
  }

  /** Sets when a share's next attempt is due (its state is the caller's to check). */
  setNextAttempt(shareId: string, nextAttemptMs: number): void {
    this.#setNextAttempt.run(nextAttemptMs, shareId)
  }

  /** Marks a share delivered with its receipt; returns the updated row (undefined when there is none). */
  markDelivered(shareId: string, receipt: Uint8Array): ShareRow | undefined {
    const raw = this.#delivered.get(receipt, now(), shareId)
    return raw ? toRow(raw) : undefined
  }

  markRetry(shareId: string, nextAttemptMs: number, error: string): void {
    this.#retry.run(nextAttemptMs, error, now(), shareId)
  }

  markFailed(shareId: string, error: string): void {
    this.#failed.run(error, now(), shareId)
  }

  /** Puts a failed share back in the queue, due now, with a fresh expiry. */
  requeue(shareId: string, expiresMs: number, nowMs: number): boolean {
    return this.#requeue.run(nowMs, expiresMs, now(), shareId).changes === 1
  }

  /** After a crash an attempt may have been cut short: those shares go back to the queue. */
  resetInterrupted(): number {
    return this.#resetInterrupted.run(now()).changes
  }

  countByState(): Record<string, number> {
    const rows = this.#countByState.all()
    return Object.fromEntries(rows.map((r) => [`${r.direction}:${r.state}`, r.n]))
  }
}
