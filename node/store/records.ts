import { createHash } from 'node:crypto'
import type { Db } from './database.ts'

/**
 * Records at rest (table `records`): the plaintext is Fernet-encrypted under the key ring's primary
 * data key before it reaches SQLite, and the key version is kept beside it so rotated keys keep
 * decrypting. A record is keyed by `data_hash = sha256(plaintext)`, so storing the same bytes twice
 * yields the same row.
 */

/** The part of the key ring that records need; `KeyRing` of node/crypto satisfies it. */
export interface RecordCipher {
  encrypt(plaintext: Uint8Array): { keyVersion: number; token: string }
  decrypt(keyVersion: number, token: string): Uint8Array
}

export interface RecordRow {
  readonly id: number
  readonly dataHash: string
  readonly keyVersion: number
  readonly sizeBytes: number
  readonly createdAt: string
}

interface RawRecordRow {
  id: number
  data_hash: string
  key_version: number
  size_bytes: number
  created_at: string
  ciphertext?: Uint8Array
}

/** SHA-256 of the plaintext as 64 lowercase hex digits: the record's name everywhere. */
export function dataHashOf(plaintext: Uint8Array): string {
  return createHash('sha256').update(plaintext).digest('hex')
}

function toRow(raw: RawRecordRow): RecordRow {
  return {
    id: raw.id,
    dataHash: raw.data_hash,
    keyVersion: raw.key_version,
    sizeBytes: raw.size_bytes,
    createdAt: raw.created_at
  }
}

/** Repository over `records`. Synchronous, so it can run inside a caller's `db.transaction()`. */
export class RecordRepository {
  readonly #db: Db
  readonly #cipher: RecordCipher
  readonly #select
  readonly #selectCipher
  readonly #insert

  constructor(db: Db, cipher: RecordCipher) {
    this.#db = db
    this.#cipher = cipher
    this.#select = db.prepare<[string], RawRecordRow>(
      'SELECT id, data_hash, key_version, size_bytes, created_at FROM records WHERE data_hash = ?'
    )
    this.#selectCipher = db.prepare<[string], RawRecordRow>(
      'SELECT id, data_hash, key_version, size_bytes, created_at, ciphertext FROM records WHERE data_hash = ?'
    )
    this.#insert = db.prepare<[string, number, Uint8Array, number, string], RawRecordRow>(
      `INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, ?, ?, ?, ?)
       RETURNING id, data_hash, key_version, size_bytes, created_at`
    )
  }

  /**
   * Stores `plaintext` encrypted, or returns the existing row for the same bytes. `dataHash` may be
   * passed when the caller already computed it (it is not trusted blindly: it must match).
   */
  put(plaintext: Uint8Array, dataHash: string = dataHashOf(plaintext)): RecordRow {
    if (dataHash !== dataHashOf(plaintext)) throw new RangeError('dataHash does not match the plaintext')
    const existing = this.#select.get(dataHash)
    if (existing) return toRow(existing)
    const { keyVersion, token } = this.#cipher.encrypt(plaintext)
    const raw = this.#insert.get(
      dataHash,
      keyVersion,
      new TextEncoder().encode(token),
      plaintext.byteLength,
      new Date().toISOString()
    )
    return toRow(raw as RawRecordRow)
  }

  get(dataHash: string): RecordRow | undefined {
    const raw = this.#select.get(dataHash)
    return raw ? toRow(raw) : undefined
  }

  /** Decrypts a record; undefined when there is none with that hash. */
  read(dataHash: string): Uint8Array | undefined {
    const raw = this.#selectCipher.get(dataHash)
    if (!raw?.ciphertext) return undefined
    return this.#cipher.decrypt(raw.key_version, new TextDecoder().decode(raw.ciphertext))
  }

  /** The database this repository writes to (for callers composing transactions). */
  get db(): Db {
    return this.#db
  }
}
