import type { Db } from './database.ts'

/**
 * The security log (table `security_log`, append-only) and the heads of it the publisher anchors on
 * chain (table `security_log_anchors`). How a row's hash is computed is the audit trail's business:
 * this repository stores rows as they are given and reads them back in order.
 */

/** A row of the log as stored; `detail` is canonical JSON. */
export interface SecurityLogRow {
  readonly seq: number
  readonly at: string
  readonly kind: string
  readonly detail: string
  readonly prev_hash: string
  readonly hash: string
}

/** The last row's sequence number and hash. */
export interface LogHead {
  readonly seq: number
  readonly hash: string
}

/** A head to anchor on chain. */
export interface AnchorRow {
  readonly seq: number
  readonly head: string
}

export interface ConfirmedAnchor {
  readonly seq: number
  readonly head: string
  readonly txHash: string
  readonly blockNumber: number
}

const now = () => new Date().toISOString()

/** Repository over `security_log` and `security_log_anchors`; statements prepared once. */
export class SecurityLogRepository {
  readonly #db: Db
  readonly #head
  readonly #insert
  readonly #list
  readonly #all
  readonly #hashAt
  readonly #lastAnchorSeq
  readonly #insertAnchor
  readonly #confirmedAnchors
  readonly #nextPendingAnchor
  readonly #anchor
  readonly #anchorSent
  readonly #anchorConfirmed
  readonly #anchorPending
  readonly #deleteAnchor
  readonly #requeueOrphanedAnchors
  readonly #deleteUnconfirmedAnchors
  readonly #requeueAllAnchors

  constructor(db: Db) {
    this.#db = db
    this.#head = db.prepare<[], LogHead>('SELECT seq, hash FROM security_log ORDER BY seq DESC LIMIT 1')
    this.#insert = db.prepare(
      'INSERT INTO security_log (seq, at, kind, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)'
    )
    this.#list = db.prepare<[number, string | null, string | null, number], SecurityLogRow>(
      `SELECT seq, at, kind, detail, prev_hash, hash FROM security_log
       WHERE seq > ? AND (? IS NULL OR kind = ?) ORDER BY seq LIMIT ?`
    )
    this.#all = db.prepare<[], SecurityLogRow>(
      'SELECT seq, at, kind, detail, prev_hash, hash FROM security_log ORDER BY seq'
    )
    this.#hashAt = db.prepare<[number], { hash: string }>('SELECT hash FROM security_log WHERE seq = ?')
    this.#lastAnchorSeq = db.prepare<[], { seq: number | null }>(
      'SELECT max(seq) AS seq FROM security_log_anchors'
    )
    this.#insertAnchor = db.prepare(
      `INSERT INTO security_log_anchors (seq, head, state, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`
    )
    this.#confirmedAnchors = db.prepare<
      [],
      { seq: number; head: string; tx_hash: string; block_number: number }
    >(
      `SELECT seq, head, tx_hash, block_number FROM security_log_anchors WHERE state = 'confirmed' ORDER BY seq`
    )
    this.#nextPendingAnchor = db.prepare<[], AnchorRow>(
      `SELECT seq, head FROM security_log_anchors WHERE state = 'pending' ORDER BY seq LIMIT 1`
    )
    this.#anchor = db.prepare<[number], AnchorRow>('SELECT seq, head FROM security_log_anchors WHERE seq = ?')
    this.#anchorSent = db.prepare(
      `UPDATE security_log_anchors SET state = 'sent', tx_hash = ?, updated_at = ? WHERE seq = ?`
    )
    this.#anchorConfirmed = db.prepare(
      `UPDATE security_log_anchors SET state = 'confirmed', tx_hash = ?, block_number = ?, updated_at = ? WHERE seq = ?`
    )
    this.#anchorPending = db.prepare(
      `UPDATE security_log_anchors SET state = 'pending', updated_at = ? WHERE seq = ?`
    )
    this.#deleteAnchor = db.prepare('DELETE FROM security_log_anchors WHERE seq = ?')
    this.#requeueOrphanedAnchors = db.prepare(
      `UPDATE security_log_anchors SET state = 'pending', updated_at = ?
       WHERE state = 'sent' AND (tx_hash IS NULL OR tx_hash NOT IN (SELECT tx_hash FROM chain_txs WHERE state = 'sent'))`
    )
    this.#deleteUnconfirmedAnchors = db.prepare(`DELETE FROM security_log_anchors WHERE state != 'confirmed'`)
    this.#requeueAllAnchors = db.prepare(
      `UPDATE security_log_anchors SET state = 'pending', tx_hash = NULL, block_number = NULL, updated_at = ?
       WHERE state IN ('sent', 'confirmed')`
    )
  }

  /**
   * Appends the row `next` builds from the current head (undefined for an empty log), in one SQLite
   * transaction so that no other row can slip in between reading the head and writing after it.
   */
  append(next: (head: LogHead | undefined) => SecurityLogRow): SecurityLogRow {
    return this.#db.transaction(() => {
      const row = next(this.#head.get())
      this.#insert.run(row.seq, row.at, row.kind, row.detail, row.prev_hash, row.hash)
      return row
    })()
  }

  /** Rows after `afterSeq`, optionally of one kind, in order. */
  list(opts: { afterSeq: number; kind?: string | undefined; limit: number }): SecurityLogRow[] {
    const kind = opts.kind ?? null
    return this.#list.all(opts.afterSeq, kind, kind, opts.limit)
  }

  /** Every row, in order, read as the caller iterates. */
  rows(): IterableIterator<SecurityLogRow> {
    return this.#all.iterate()
  }

  /** The stored hash of row `seq`. */
  hashAt(seq: number): string | undefined {
    return this.#hashAt.get(seq)?.hash
  }

  /** Records the current head as a pending anchor unless it is anchored (or pending) already. */
  recordHeadAnchor(): AnchorRow | null {
    return this.#db.transaction((): AnchorRow | null => {
      const head = this.#head.get()
      if (!head) return null
      const last = this.#lastAnchorSeq.get()?.seq ?? null
      if (last !== null && last >= head.seq) return null
      const t = now()
      this.#insertAnchor.run(head.seq, head.hash, t, t)
      return { seq: head.seq, head: head.hash }
    })()
  }

  /** Confirmed anchors, oldest first. */
  confirmedAnchors(): ConfirmedAnchor[] {
    return this.#confirmedAnchors
      .all()
      .map((a) => ({ seq: a.seq, head: a.head, txHash: a.tx_hash, blockNumber: a.block_number }))
  }

  /** The oldest anchor waiting to be sent. */
  nextPendingAnchor(): AnchorRow | undefined {
    return this.#nextPendingAnchor.get()
  }

  anchor(seq: number): AnchorRow | undefined {
    return this.#anchor.get(seq)
  }

  markAnchorSent(seq: number, txHash: string): void {
    this.#anchorSent.run(txHash, now(), seq)
  }

  markAnchorConfirmed(seq: number, txHash: string, blockNumber: number): void {
    this.#anchorConfirmed.run(txHash, blockNumber, now(), seq)
  }

  markAnchorPending(seq: number): void {
    this.#anchorPending.run(now(), seq)
  }

  deleteAnchor(seq: number): void {
    this.#deleteAnchor.run(seq)
  }

  /** Anchors marked sent whose transaction is no longer in flight go back to the queue. */
  requeueOrphanedAnchors(): number {
    return this.#requeueOrphanedAnchors.run(now()).changes
  }

  /** Drops every anchor the chain has not confirmed (they were meant for another chain). */
  deleteUnconfirmedAnchors(): number {
    return this.#deleteUnconfirmedAnchors.run().changes
  }

  /** Anchors sent or confirmed on a chain that is gone are due again (the same heads, on the new chain). */
  requeueAnchorsAfterChainReset(): number {
    return this.#requeueAllAnchors.run(now()).changes
  }
}
