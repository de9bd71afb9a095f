import type { IdempotencyStore, KeptAnswer } from '../core/idempotency.ts'
import type { Db } from './database.ts'

/**
 * Idempotency keys over the `idempotency_keys` table (migration 0014): the answers kept for
 * `Idempotency-Key`, implementing the core's `IdempotencyStore`. One write per kept answer, none
 * while its request runs: a request in flight is the API process's to know, and a node that stops
 * mid-request forgets it, so a retry after the restart runs anew rather than finding the key
 * pinned to an answer nobody will give.
 */

interface Row {
  fingerprint: string
  status: number
  headers: string
  body: Uint8Array
  created_ms: number
}

/** The store over an open, migrated database. */
export function createIdempotencyStore(db: Db): IdempotencyStore {
  const get = db.prepare<[string, string], Row>(
    'SELECT fingerprint, status, headers, body, created_ms FROM idempotency_keys WHERE scope = ? AND key = ?'
  )
  // A row older than the retention may still be there (pruning runs hourly): the new answer replaces it.
  const keep = db.prepare<[string, string, string, number, string, Uint8Array, number]>(
    `INSERT INTO idempotency_keys (scope, key, fingerprint, status, headers, body, created_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
       headers = excluded.headers, body = excluded.body, created_ms = excluded.created_ms`
  )
  const prune = db.prepare<[number]>('DELETE FROM idempotency_keys WHERE created_ms < ?')

  return {
    find(scope, key, notBeforeMs): KeptAnswer | undefined {
      const row = get.get(scope, key)
      if (!row || row.created_ms < notBeforeMs) return undefined
      return {
        fingerprint: row.fingerprint,
        answer: {
          status: row.status,
          headers: JSON.parse(row.headers) as Record<string, string>,
          body: row.body
        }
      }
    },
    keep(scope, key, kept, nowMs) {
      const { answer } = kept
      keep.run(
        scope,
        key,
        kept.fingerprint,
        answer.status,
        JSON.stringify(answer.headers),
        answer.body,
        nowMs
      )
    },
    prune: (beforeMs) => prune.run(beforeMs).changes
  }
}

/**
 * The store over a database opened later (the store service opens it at its start): built at the
 * first call, so its statements are prepared once.
 */
export function openingIdempotencyStore(db: () => Db): IdempotencyStore {
  let store: IdempotencyStore | undefined
  const open = () => {
    store ??= createIdempotencyStore(db())
    return store
  }
  return {
    find: (scope, key, notBeforeMs) => open().find(scope, key, notBeforeMs),
    keep: (scope, key, kept, nowMs) => open().keep(scope, key, kept, nowMs),
    prune: (beforeMs) => open().prune(beforeMs)
  }
}
