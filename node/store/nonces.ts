import type { Db } from './database.ts'

/**
 * Nonces seen per sender (table `nonces`), each kept until `expires_ms`: the replay guard's memory
 * (node/crypto/replay-guard.ts decides the window; this repository only stores and prunes).
 */

/** Repository over `nonces`. Each call commits on its own unless a caller's `db.transaction()` encloses it. */
export class NonceRepository {
  readonly #insert
  readonly #prune

  constructor(db: Db) {
    this.#insert = db.prepare<[string, string, number]>(
      'INSERT INTO nonces (sender, nonce, expires_ms) VALUES (?, ?, ?) ON CONFLICT (sender, nonce) DO NOTHING'
    )
    this.#prune = db.prepare<[number]>('DELETE FROM nonces WHERE expires_ms < ?')
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
