import type { Db } from './database.ts'
import { DuplicateTransactionError } from './errors.ts'

/**
 * The publisher's transactions (table `chain_txs`): every signed transaction, raw bytes included,
 * written before it is broadcast so that a restart finds it again. A row stays 'sent' until it is
 * confirmed, dropped (replaced, or its nonce went elsewhere) or reverted; 'chain_reset' marks one
 * that was in flight or confirmed on a chain that was then reset or replaced. A confirmed row whose
 * block the chain lost goes back to 'sent' (revived): the same signed bytes are sent again. One signed when its share
 * was accepted is 'sent' and awaiting its first broadcast, which the publisher does.
 */

export type ChainTxState = 'sent' | 'confirmed' | 'dropped' | 'reverted' | 'chain_reset'

export interface ChainTx {
  readonly id: number
  /** The job it carries: 'outbox:<id>', 'batch:<id>' or 'log:<seq>'. */
  readonly job: string
  readonly nonce: number
  readonly txHash: string
  /** The signed transaction, 0x hex. */
  readonly raw: string
  readonly state: ChainTxState
  /** When it was last broadcast, Unix ms (when it was signed, while it awaits its first broadcast). */
  readonly sentMs: number
  /** Signed when its share was accepted and not broadcast yet: the publisher broadcasts it in nonce order. */
  readonly awaitingBroadcast: boolean
  /** The block that holds it, once confirmed. */
  readonly blockNumber: number | null
  readonly blockHash: string | null
}

export interface NewChainTx {
  readonly job: string
  readonly nonce: number
  readonly txHash: string
  readonly raw: string
  readonly sentMs: number
  /** Recorded now, broadcast later by the publisher (a transaction signed at a share's acceptance). */
  readonly awaitingBroadcast?: boolean
}

interface RawTx {
  id: number
  job: string
  nonce: number
  tx_hash: string
  raw: string
  state: ChainTxState
  sent_ms: number
  awaiting_broadcast: number
  block_number: number | null
  block_hash: string | null
}

const toTx = (r: RawTx): ChainTx => ({
  id: r.id,
  job: r.job,
  nonce: r.nonce,
  txHash: r.tx_hash,
  raw: r.raw,
  state: r.state,
  sentMs: r.sent_ms,
  awaitingBroadcast: r.awaiting_broadcast === 1,
  blockNumber: r.block_number,
  blockHash: r.block_hash
})

const COLUMNS = 'id, job, nonce, tx_hash, raw, state, sent_ms, block_number, block_hash, awaiting_broadcast'

const now = () => new Date().toISOString()

/** Repository over `chain_txs`; statements prepared once. */
export class ChainTxRepository {
  readonly #insert
  readonly #inFlight
  readonly #settle
  readonly #rebroadcast
  readonly #drop
  readonly #dropAllSent
  readonly #confirmedHashes
  readonly #ofJob
  readonly #confirmedFromNonce
  readonly #confirmedNewestFirst
  readonly #revive
  readonly #markChainReset
  readonly #orphanedJobs

  constructor(db: Db) {
    this.#insert = db.prepare(
      // The same signed bytes as a transaction of a chain that was reset (same nonce, call and gas
      // price on the fresh chain) are that transaction again: its row is revived, not duplicated.
      `INSERT INTO chain_txs (job, nonce, tx_hash, raw, state, sent_ms, awaiting_broadcast, updated_at)
       VALUES (?, ?, ?, ?, 'sent', ?, ?, ?)
       ON CONFLICT (tx_hash) DO UPDATE SET job = excluded.job, nonce = excluded.nonce, state = 'sent',
         sent_ms = excluded.sent_ms, awaiting_broadcast = excluded.awaiting_broadcast,
         block_number = NULL, block_hash = NULL, updated_at = excluded.updated_at
       WHERE chain_txs.state = 'chain_reset'`
    )
    this.#inFlight = db.prepare<[number], RawTx>(
      `SELECT ${COLUMNS} FROM chain_txs WHERE state = 'sent' ORDER BY nonce, id LIMIT ?`
    )
    this.#settle = db.prepare(
      'UPDATE chain_txs SET state = ?, block_number = ?, block_hash = ?, updated_at = ? WHERE id = ?'
    )
    this.#rebroadcast = db.prepare(
      'UPDATE chain_txs SET sent_ms = ?, awaiting_broadcast = 0, updated_at = ? WHERE id = ?'
    )
    this.#drop = db.prepare(`UPDATE chain_txs SET state = 'dropped', updated_at = ? WHERE id = ?`)
    this.#dropAllSent = db.prepare(
      `UPDATE chain_txs SET state = 'dropped', updated_at = ? WHERE state = 'sent'`
    )
    this.#confirmedHashes = db
      .prepare<[], string>(`SELECT tx_hash FROM chain_txs WHERE state = 'confirmed' ORDER BY id`)
      .pluck()
    this.#ofJob = db.prepare<[string], RawTx>(`SELECT ${COLUMNS} FROM chain_txs WHERE job = ? ORDER BY id`)
    this.#confirmedFromNonce = db.prepare<[number], RawTx>(
      `SELECT ${COLUMNS} FROM chain_txs WHERE state = 'confirmed' AND nonce >= ? ORDER BY nonce, id`
    )
    this.#confirmedNewestFirst = db.prepare<[number], RawTx>(
      `SELECT ${COLUMNS} FROM chain_txs WHERE state = 'confirmed' ORDER BY id DESC LIMIT ?`
    )
    this.#revive = db.prepare(
      `UPDATE chain_txs SET state = 'sent', block_number = NULL, block_hash = NULL, sent_ms = ?, updated_at = ?
       WHERE id = ?`
    )
    this.#markChainReset = db.prepare(
      `UPDATE chain_txs SET state = 'chain_reset', updated_at = ? WHERE state IN ('sent', 'confirmed')`
    )
    const noneInFlight = (job: string) =>
      `NOT EXISTS (SELECT 1 FROM chain_txs c WHERE c.job = ${job} AND c.state = 'sent')`
    this.#orphanedJobs = db
      .prepare<[], string>(
        `SELECT 'outbox:' || id FROM outbox
           WHERE state = 'sent' AND batch_id IS NULL AND ${noneInFlight(`'outbox:' || outbox.id`)}
         UNION ALL SELECT 'batch:' || id FROM audit_batches
           WHERE state = 'sent' AND ${noneInFlight(`'batch:' || audit_batches.id`)}
         UNION ALL SELECT 'log:' || seq FROM security_log_anchors
           WHERE state = 'sent' AND ${noneInFlight(`'log:' || security_log_anchors.seq`)}`
      )
      .pluck()
  }

  /** Records a signed transaction as sent (before it is broadcast). */
  record(tx: NewChainTx): void {
    const { changes } = this.#insert.run(
      tx.job,
      tx.nonce,
      tx.txHash,
      tx.raw,
      tx.sentMs,
      tx.awaitingBroadcast ? 1 : 0,
      now()
    )
    if (changes === 0) throw new DuplicateTransactionError(`transaction ${tx.txHash} is recorded already`)
  }

  /** Transactions still waiting for their confirmations, in nonce order; the first `limit` (all: -1). */
  inFlight(limit = -1): ChainTx[] {
    return this.#inFlight.all(limit).map(toTx)
  }

  /** Settles a transaction, with the block that holds it when there is one. */
  settle(
    id: number,
    state: Exclude<ChainTxState, 'sent'>,
    block?: { readonly number: number; readonly hash: string }
  ): void {
    this.#settle.run(state, block?.number ?? null, block?.hash ?? null, now(), id)
  }

  /** Notes that the very same bytes were broadcast at `sentMs` (again, or for the first time). */
  rebroadcast(id: number, sentMs: number): void {
    this.#rebroadcast.run(sentMs, now(), id)
  }

  /** Marks a transaction dropped without a block: it was replaced. */
  drop(id: number): void {
    this.#drop.run(now(), id)
  }

  /** Every transaction in flight is dropped (they belong to another chain, contract or account). */
  dropAllInFlight(): number {
    return this.#dropAllSent.run(now()).changes
  }

  /** Every transaction signed for `job` (its first and any replacements or resends), oldest first. */
  ofJob(job: string): ChainTx[] {
    return this.#ofJob.all(job).map(toTx)
  }

  /** Confirmed transactions with a nonce of `nonce` or above, in nonce order. */
  confirmedFromNonce(nonce: number): ChainTx[] {
    return this.#confirmedFromNonce.all(nonce).map(toTx)
  }

  /** The `limit` transactions confirmed last (by when they were signed), newest first. */
  confirmedNewestFirst(limit: number): ChainTx[] {
    return this.#confirmedNewestFirst.all(limit).map(toTx)
  }

  /** Puts a transaction back in flight (its block is gone): the tracker sends its bytes again. */
  revive(id: number, sentMs: number): void {
    this.#revive.run(sentMs, now(), id)
  }

  /** Every transaction in flight or confirmed belongs to a chain that is gone; returns how many. */
  markChainReset(): number {
    return this.#markChainReset.run(now()).changes
  }

  /**
   * Jobs (outbox rows on their own, batches, log anchors) marked sent that have no transaction in
   * flight: `'outbox:<id>'`, `'batch:<id>'`, `'log:<seq>'`.
   */
  orphanedJobs(): string[] {
    return this.#orphanedJobs.all()
  }

  /** Hashes of the confirmed transactions, oldest first (what the chain was paid for). */
  confirmedHashes(): string[] {
    return this.#confirmedHashes.all()
  }
}
