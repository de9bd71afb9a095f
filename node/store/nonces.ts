import type { Db } from './database.ts'

/**
 * Nonces seen per sender (table `nonces`), each kept until `expires_ms`: the replay guard's memory
 * (node/crypto/replay-guard.ts decides the window; this repository only stores and prunes).
 */

/** Repository over `nonces`. Each call commits on its own unless a caller's `db.transaction()` encloses it. */
export class NonceRepository {
  readonly #insert
  readonly #has
  readonly #prune

  constructor(db: Db) {
    this.#insert = db.prepare<[string, string, number]>(
      'INSERT INTO nonces (sender, nonce, expires_ms) VALUES (?, ?, ?) ON CONFLICT (sender, nonce) DO NOTHING'
    )
    this.#has = db.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM nonces WHERE sender = ? AND nonce = ?'
    )
    this.#prune = db.prepare<[number]>('DELETE FROM nonces WHERE expires_ms < ?')
  }

  /** Whether `sender` used `nonce` (and it is not pruned yet). */
  has(sender: string, nonce: string): boolean {
    return this.#has.get(sender, nonce) !== undefined
  }

  /** Records `nonce` for `sender`, kept until `expiresMs`; false when that sender already used it. */
  add(sender: string, nonce: string, expiresMs: number): boolean {
    return this.#insert.run(sender, nonce, expiresMs).changes === 1
  }

  /** Deletes the nonces that expired before `nowMs`; returns how many. */
  pruneExpired(nowMs: number): number {
    return this.#prune.run(nowMs).changes
  }
}
