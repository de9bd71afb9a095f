import type { Db } from './database.ts'

/**
 * Batches of audit leaves (table `audit_batches`): a run of pending share and receipt events of the
 * outbox, fixed under one Merkle root and anchored by one transaction. A batch and its outbox rows
 * change state together, in one SQLite transaction (nested as a savepoint in a caller's).
 */

export interface BatchRow {
  readonly id: number
  /** 64 hex, the RFC 9162 tree head. */
  readonly root: string
  readonly count: number
  /** The contract's sequence of the first leaf, fixed when the batch is first sent. */
  readonly firstSequence: number | null
}

/** A leaf of a batch as the event index records it. */
/** An outbox entry carried by a batch. */
export interface BatchEntry {
  readonly kind: string
  readonly shareId: string | null
  readonly dataHash: string | null
}

export interface BatchLeafRow {
  readonly kind: string
  readonly shareId: string
  readonly dataHash: string
  readonly leaf: string
  readonly leafIndex: number
}

/** A leaf of a confirmed batch, with what its inclusion proof needs. */
export interface ConfirmedLeafRow {
  readonly outboxId: number
  readonly kind: string
  readonly shareId: string
  readonly payload: string
  readonly leafIndex: number
  readonly batchId: number
  readonly root: string
}

interface RawBatch {
  id: number
  root: string
  count: number
  first_sequence: number | null
}

const toBatch = (r: RawBatch): BatchRow => ({
  id: r.id,
  root: r.root,
  count: r.count,
  firstSequence: r.first_sequence
})

const now = () => new Date().toISOString()

/** Repository over `audit_batches` and the batch columns of `outbox`; statements prepared once. */
export class AuditBatchRepository {
  readonly #db: Db
  readonly #leavesToBatch
  readonly #insert
  readonly #assign
  readonly #nextPending
  readonly #byId
  readonly #setFirstSequence
  readonly #nextSequence
  readonly #sent
  readonly #rowsSent
  readonly #confirmed
  readonly #rowsConfirmed
  readonly #pending
  readonly #rowsPending
  readonly #failed
  readonly #rowsFailed
  readonly #leavesOfRoot
  readonly #confirmedLeavesOf
  readonly #leavesOfBatch
  readonly #entriesOfBatch
  readonly #requeueOrphaned
  readonly #restartUnconfirmed
  readonly #restartAll

  constructor(db: Db) {
    this.#db = db
    this.#leavesToBatch = db.prepare<[number], { id: number; leaf: string }>(
      `SELECT id, leaf FROM outbox WHERE state = 'pending' AND batch_id IS NULL AND kind IN ('share', 'receipt')
       ORDER BY id LIMIT ?`
    )
    this.#insert = db.prepare(
      `INSERT INTO audit_batches (root, count, state, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`
    )
    this.#assign = db.prepare('UPDATE outbox SET batch_id = ?, leaf_index = ?, updated_at = ? WHERE id = ?')
    this.#nextPending = db.prepare<[], RawBatch>(
      `SELECT id, root, count, first_sequence FROM audit_batches WHERE state = 'pending' ORDER BY id LIMIT 1`
    )
    this.#byId = db.prepare<[number], RawBatch>(
      'SELECT id, root, count, first_sequence FROM audit_batches WHERE id = ?'
    )
    this.#setFirstSequence = db.prepare('UPDATE audit_batches SET first_sequence = ? WHERE id = ?')
    this.#nextSequence = db.prepare<[], { next: number }>(
      'SELECT COALESCE(MAX(first_sequence + count), 0) AS next FROM audit_batches WHERE first_sequence IS NOT NULL'
    )
    this.#sent = db.prepare(
      `UPDATE audit_batches SET state = 'sent', tx_hash = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`
    )
    this.#rowsSent = db.prepare(
      `UPDATE outbox SET state = 'sent', tx_hash = ?, updated_at = ? WHERE batch_id = ?`
    )
    this.#confirmed = db.prepare(
      `UPDATE audit_batches SET state = 'confirmed', tx_hash = ?, block_number = ?, last_error = NULL, updated_at = ?
       WHERE id = ?`
    )
    this.#rowsConfirmed = db.prepare(
      `UPDATE outbox SET state = 'confirmed', tx_hash = ?, block_number = ?, last_error = NULL, updated_at = ?
       WHERE batch_id = ?`
    )
    this.#pending = db.prepare(
      `UPDATE audit_batches SET state = 'pending', last_error = ?, updated_at = ? WHERE id = ?`
    )
    this.#rowsPending = db.prepare(
      `UPDATE outbox SET state = 'pending', last_error = ?, updated_at = ? WHERE batch_id = ?`
    )
    this.#failed = db.prepare(
      `UPDATE audit_batches SET state = 'failed', last_error = ?, updated_at = ? WHERE id = ?`
    )
    this.#rowsFailed = db.prepare(
      `UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ? WHERE batch_id = ?`
    )
    this.#leavesOfRoot = db.prepare<
      [string],
      { kind: string; share_id: string; data_hash: string; leaf: string; leaf_index: number }
    >(
      `SELECT o.kind, o.share_id, o.data_hash, o.leaf, o.leaf_index FROM outbox o JOIN audit_batches b ON b.id = o.batch_id
       WHERE b.root = ? ORDER BY o.leaf_index`
    )
    this.#confirmedLeavesOf = db.prepare<
      [string],
      {
        id: number
        kind: string
        share_id: string
        payload: string
        leaf_index: number
        batch_id: number
        root: string
      }
    >(
      `SELECT o.id, o.kind, o.share_id, o.payload, o.leaf_index, b.id AS batch_id, b.root FROM outbox o
       JOIN audit_batches b ON b.id = o.batch_id WHERE o.data_hash = ? AND b.state = 'confirmed'`
    )
    this.#leavesOfBatch = db.prepare<[number], { leaf_index: number; leaf: string }>(
      'SELECT leaf_index, leaf FROM outbox WHERE batch_id = ? ORDER BY leaf_index'
    )
    this.#entriesOfBatch = db.prepare<
      [number],
      { kind: string; share_id: string | null; data_hash: string | null }
    >('SELECT kind, share_id, data_hash FROM outbox WHERE batch_id = ? ORDER BY leaf_index')
    this.#requeueOrphaned = db.prepare(
      `UPDATE audit_batches SET state = 'pending', updated_at = ?
       WHERE state = 'sent' AND (tx_hash IS NULL OR tx_hash NOT IN (SELECT tx_hash FROM chain_txs WHERE state = 'sent'))`
    )
    this.#restartUnconfirmed = db.prepare(
      `UPDATE audit_batches SET state = 'pending', first_sequence = NULL, updated_at = ? WHERE state IN ('pending', 'sent')`
    )
    this.#restartAll = db.prepare(
      `UPDATE audit_batches SET state = 'pending', first_sequence = NULL, tx_hash = NULL, block_number = NULL, updated_at = ?
       WHERE state IN ('pending', 'sent', 'confirmed')`
    )
  }

  /**
   * Forms a batch of the oldest pending leaves (at most `size`), in one SQLite transaction: `rootOf`
   * gets their leaves (64 hex, in outbox order) and returns the root to record. Null when none wait.
   */
  form(size: number, rootOf: (leaves: readonly string[]) => string): number | null {
    return this.#db.transaction(() => {
      const rows = this.#leavesToBatch.all(size)
      if (rows.length === 0) return null
      const root = rootOf(rows.map((r) => r.leaf))
      const t = now()
      const id = Number(this.#insert.run(root, rows.length, t, t).lastInsertRowid)
      for (const [i, r] of rows.entries()) this.#assign.run(id, i, t, r.id)
      return id
    })()
  }

  /** The oldest batch waiting to be sent. */
  nextPending(): BatchRow | undefined {
    const r = this.#nextPending.get()
    return r ? toBatch(r) : undefined
  }

  get(id: number): BatchRow | undefined {
    const r = this.#byId.get(id)
    return r ? toBatch(r) : undefined
  }

  /** The sequence number of the leaf after the last numbered batch's (0 for the first). */
  nextSequence(): number {
    return (this.#nextSequence.get() as { next: number }).next
  }

  setFirstSequence(id: number, firstSequence: number): void {
    this.#setFirstSequence.run(firstSequence, id)
  }

  markSent(id: number, txHash: string): void {
    this.#both(this.#sent, this.#rowsSent, id, txHash)
  }

  markConfirmed(id: number, txHash: string, blockNumber: number): void {
    this.#both(this.#confirmed, this.#rowsConfirmed, id, txHash, blockNumber)
  }

  /** Back to the queue, with the reason its transaction did not count. */
  markPending(id: number, reason: string): void {
    this.#both(this.#pending, this.#rowsPending, id, reason)
  }

  markFailed(id: number, reason: string): void {
    this.#both(this.#failed, this.#rowsFailed, id, reason)
  }

  /** The leaves of the batch anchored under `root`, in tree order. */
  leavesOfRoot(root: string): BatchLeafRow[] {
    return this.#leavesOfRoot.all(root).map((l) => ({
      kind: l.kind,
      shareId: l.share_id,
      dataHash: l.data_hash,
      leaf: l.leaf,
      leafIndex: l.leaf_index
    }))
  }

  /** The leaves of `dataHash` that travelled in a confirmed batch. */
  confirmedLeavesOf(dataHash: string): ConfirmedLeafRow[] {
    return this.#confirmedLeavesOf.all(dataHash).map((r) => ({
      outboxId: r.id,
      kind: r.kind,
      shareId: r.share_id,
      payload: r.payload,
      leafIndex: r.leaf_index,
      batchId: r.batch_id,
      root: r.root
    }))
  }

  /** Every leaf (64 hex) of a batch, in tree order. */
  leavesOfBatch(id: number): { readonly leafIndex: number; readonly leaf: string }[] {
    return this.#leavesOfBatch.all(id).map((r) => ({ leafIndex: r.leaf_index, leaf: r.leaf }))
  }

  /** The outbox entries a batch carries, in leaf order. */
  entriesOf(id: number): BatchEntry[] {
    return this.#entriesOfBatch
      .all(id)
      .map((r) => ({ kind: r.kind, shareId: r.share_id, dataHash: r.data_hash }))
  }

  /** Batches marked sent whose transaction is no longer in flight go back to the queue. */
  requeueOrphaned(): number {
    return this.#requeueOrphaned.run(now()).changes
  }

  /** Every unconfirmed batch goes back to the queue and forgets its sequence (another chain's). */
  restartUnconfirmed(): number {
    return this.#restartUnconfirmed.run(now()).changes
  }

  /**
   * Every batch that is not failed goes back to the queue with its root and leaves, forgetting its
   * sequence and transaction: the chain they were anchored on is gone. Its rows follow the outbox's
   * own reset.
   */
  restartAfterChainReset(): number {
    return this.#restartAll.run(now()).changes
  }

  #both(
    batch: { run(...args: unknown[]): unknown },
    rows: { run(...args: unknown[]): unknown },
    id: number,
    ...values: unknown[]
  ): void {
    const t = now()
    this.#db.transaction(() => {
      batch.run(...values, t, id)
      rows.run(...values, t, id)
    })()
  }
}
