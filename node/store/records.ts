import type { Db } from './database.ts'

/**
 * Records at rest (table `records`): the plaintext is Fernet-encrypted under the key ring's primary
 * data key before it reaches SQLite, and the key version is kept beside it so rotated keys keep
 * decrypting. A record is keyed by `data_hash = sha256(plaintext)`, so storing the same bytes twice
 * yields the same row.
 */

/**
 * The part of the key ring that records need; `KeyRing` of node/crypto satisfies it. Records are
 * written as the Fernet token's raw bytes (first byte 0x80); rows written by earlier versions hold
 * the token as url-safe base64 ASCII (first byte `g`) and are read through `decrypt`.
 */
export interface RecordCipher {
  encryptBytes(plaintext: Uint8Array): { keyVersion: number; token: Uint8Array }
  /**
   * The same token in pieces, when the cipher can: the repository lays them out in a buffer it
   * keeps for that (SQLite copies a bound value), so no token-sized buffer is made per record.
   */
  encryptPieces?(plaintext: Uint8Array): {
    keyVersion: number
    token: { readonly pieces: readonly Uint8Array[]; readonly length: number }
  }
  decryptBytes(keyVersion: number, token: Uint8Array): Uint8Array
  /** The older form: the token as url-safe base64 text. */
  decrypt(keyVersion: number, token: string): Uint8Array
}

/** The first byte of a Fernet token's raw bytes (its version); base64 text never starts with it. */
const RAW_TOKEN_FIRST_BYTE = 0x80

export interface RecordRow {
  readonly id: number
  readonly dataHash: string
  readonly keyVersion: number
  readonly sizeBytes: number
  readonly createdAt: string
}

/** A stored ciphertext with the key version that made it: what a rewrap re-encrypts. */
export interface StoredCiphertext {
  readonly id: number
  readonly keyVersion: number
  /** The Fernet token as ASCII, or its raw bytes (first byte 0x80). */
  readonly ciphertext: Buffer
}

/** A record's new ciphertext under `toVersion`, applied only while it is still under `fromVersion`. */
export interface Rewrapped {
  readonly id: number
  readonly fromVersion: number
  readonly ciphertext: Buffer
}

interface RawRecordRow {
  id: number
  data_hash: string
  key_version: number
  size_bytes: number
  created_at: string
  ciphertext?: Uint8Array
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
  readonly #countByVersion
  readonly #countBelow
  readonly #countNotAt
  readonly #listNotAt
  readonly #rewrap
  /** Where tokens are laid out before their insert; grows to the largest record seen. */
  #layout: Buffer = Buffer.alloc(0)

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
    this.#countByVersion = db.prepare<[], { v: number; n: number }>(
      'SELECT key_version AS v, COUNT(*) AS n FROM records GROUP BY key_version'
    )
    this.#countBelow = db.prepare<[number], { n: number }>(
      'SELECT COUNT(*) AS n FROM records WHERE key_version < ?'
    )
    this.#countNotAt = db.prepare<[number], { n: number }>(
      'SELECT COUNT(*) AS n FROM records WHERE key_version <> ?'
    )
    this.#listNotAt = db.prepare<[number, number, number], StoredCiphertext>(
      `SELECT id, key_version AS keyVersion, ciphertext FROM records WHERE key_version <> ? AND id > ?
       ORDER BY id LIMIT ?`
    )
    this.#rewrap = db.prepare<[number, Buffer, number, number]>(
      'UPDATE records SET key_version = ?, ciphertext = ? WHERE id = ? AND key_version = ?'
    )
  }

  /**
   * Stores `plaintext` encrypted under `dataHash`, or returns the existing row for that hash. The
   * repository trusts its caller for the hash: it is `dataHashOf(plaintext)` (node/core/accept-share.ts),
   * computed once by the caller, which has already hashed the bytes to accept, verify or name them.
   */
  put(plaintext: Uint8Array, dataHash: string): RecordRow {
    const existing = this.#select.get(dataHash)
    if (existing) return toRow(existing)
    const { keyVersion, token } = this.#encrypt(plaintext)
    const raw = this.#insert.get(dataHash, keyVersion, token, plaintext.byteLength, new Date().toISOString())
    return toRow(raw as RawRecordRow)
  }

  /** The token to insert: in the repository's own layout buffer when the cipher gives pieces. */
  #encrypt(plaintext: Uint8Array): { keyVersion: number; token: Uint8Array } {
    if (!this.#cipher.encryptPieces) return this.#cipher.encryptBytes(plaintext)
    const { keyVersion, token } = this.#cipher.encryptPieces(plaintext)
    if (this.#layout.length < token.length) this.#layout = Buffer.allocUnsafe(token.length)
    let at = 0
    for (const piece of token.pieces) {
      this.#layout.set(piece, at)
      at += piece.length
    }
    // Bound once and copied by SQLite (better-sqlite3 binds with SQLITE_TRANSIENT), so the buffer is
    // free again as soon as the insert returns; the statement never runs while a put is half done.
    return { keyVersion, token: this.#layout.subarray(0, token.length) }
  }

  get(dataHash: string): RecordRow | undefined {
    const raw = this.#select.get(dataHash)
    return raw ? toRow(raw) : undefined
  }

  /** Decrypts a record; undefined when there is none with that hash. */
  read(dataHash: string): Uint8Array | undefined {
    const raw = this.#selectCipher.get(dataHash)
    const stored = raw?.ciphertext
    if (!raw || !stored) return undefined
    if (stored[0] === RAW_TOKEN_FIRST_BYTE) return this.#cipher.decryptBytes(raw.key_version, stored)
    return this.#cipher.decrypt(raw.key_version, Buffer.from(stored).toString('ascii'))
  }

  /** How many records each key version protects. */
  countByKeyVersion(): Map<number, number> {
    return new Map(this.#countByVersion.all().map((r) => [r.v, r.n]))
  }

  /** How many records are under a key version below `version`. */
  countBelowKeyVersion(version: number): number {
    return (this.#countBelow.get(version) as { n: number }).n
  }

  /** How many records are under another key version than `version`. */
  countNotAtKeyVersion(version: number): number {
    return (this.#countNotAt.get(version) as { n: number }).n
  }

  /** Up to `limit` records not under `version` with an id above `afterId`, by id. */
  listNotAtKeyVersion(version: number, afterId: number, limit: number): StoredCiphertext[] {
    return this.#listNotAt.all(version, afterId, limit)
  }

  /**
   * Moves records to `toVersion` with their new ciphertexts, in one transaction; a record whose key
   * version changed since it was read is left alone. Returns how many moved.
   */
  rewrap(toVersion: number, changes: readonly Rewrapped[]): number {
    let moved = 0
    this.#db.transaction(() => {
      for (const c of changes) moved += this.#rewrap.run(toVersion, c.ciphertext, c.id, c.fromVersion).changes
    })()
    return moved
  }

  /** The database this repository writes to (for callers composing transactions). */
  get db(): Db {
    return this.#db
  }
}
