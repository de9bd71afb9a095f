import type { Db } from './database.ts'

/**
 * Node identity records found on chain (table `identity_records`, migration 0008): one row per
 * NodeRegistered log, with the outcome of checking it, so a record's signatures are verified once.
 * What makes a record valid is node/audit's business; this only keeps the answer.
 */

/** A NodeRegistered log and what checking it gave. */
export interface IdentityRecordRow {
  readonly txHash: string
  readonly logIndex: number
  readonly blockNumber: number
  readonly blockHash: string
  /** The event's account topic, lower case. */
  readonly account: string
  /** The record's PeerId when the record counts, else null. */
  readonly peerId: string | null
  readonly peerIdHash: string
  readonly record: string
  readonly recordHash: string
  /** Why the record does not count; null when it does. */
  readonly problem: string | null
}

const COLUMNS = `tx_hash AS txHash, log_index AS logIndex, block_number AS blockNumber, block_hash AS blockHash,
  account, peer_id AS peerId, peer_id_hash AS peerIdHash, record, record_hash AS recordHash, problem`

/** Repository over `identity_records`; statements prepared once. */
export class IdentityRecordRepository {
  readonly #put
  readonly #get

  constructor(db: Db) {
    this.#put = db.prepare<[IdentityRecordRow & { checkedAt: string }]>(
      `INSERT INTO identity_records (tx_hash, log_index, block_number, block_hash, account, peer_id, peer_id_hash,
         record, record_hash, problem, checked_at)
       VALUES (@txHash, @logIndex, @blockNumber, @blockHash, @account, @peerId, @peerIdHash, @record, @recordHash,
         @problem, @checkedAt)
       ON CONFLICT (tx_hash, log_index) DO UPDATE SET block_number = excluded.block_number,
         block_hash = excluded.block_hash, account = excluded.account, peer_id = excluded.peer_id,
         peer_id_hash = excluded.peer_id_hash, record = excluded.record, record_hash = excluded.record_hash,
         problem = excluded.problem, checked_at = excluded.checked_at`
    )
    this.#get = db.prepare<[string, number], IdentityRecordRow>(
      `SELECT ${COLUMNS} FROM identity_records WHERE tx_hash = ? AND log_index = ?`
    )
  }

  /** Stores the outcome for a log, replacing an earlier one of the same log. */
  put(row: IdentityRecordRow): void {
    this.#put.run({ ...row, checkedAt: new Date().toISOString() })
  }

  /** The outcome recorded for a log, if any. */
  get(txHash: string, logIndex: number): IdentityRecordRow | undefined {
    return this.#get.get(txHash.toLowerCase(), logIndex)
  }
}
