import type { IdempotencyClaim, IdempotencyStore, IdempotentAnswer } from '../core/idempotency.ts'
import type { Db } from './database.ts'

/**
 * Idempotency keys over the `idempotency_keys` table (migration 0014): the node's side of
 * `Idempotency-Key`, implementing the core's `IdempotencyStore`.
 */

interface Row {
  fingerprint: string
  state: 'pending' | 'done'
  status: number | null
  headers: string | null
  body: Uint8Array | null
  created_ms: number
}

/**
 * The store over an open, migrated database. Keys left `pending` by an earlier process (it stopped
 * while their request ran) are released here, once: their outcome is unknown, and a key must not stay
 * pinned to a request nobody will finish.
 */
export function createIdempotencyStore(db: Db): IdempotencyStore {
  const get = db.prepare<[string, string], Row>(
    'SELECT fingerprint, state, status, headers, body, created_ms FROM idempotency_keys WHERE scope = ? AND key = ?'
  )
  const upsert = db.prepare<[string, string, string, number]>(
    `INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_ms) VALUES (?, ?, ?, 'pending', ?)
     ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'pending',
       status = NULL, headers = NULL, body = NULL, created_ms = excluded.created_ms`
  )
  const complete = db.prepare<[number, string, Uint8Array, string, string]>(
    `UPDATE idempotency_keys SET state = 'done', status = ?, headers = ?, body = ?
     WHERE scope = ? AND key = ? AND state = 'pending'`
  )
  const release = db.prepare<[string, string]>(
    `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND state = 'pending'`
  )
  const prune = db.prepare<[number]>('DELETE FROM idempotency_keys WHERE created_ms < ?')
  db.prepare(`DELETE FROM idempotency_keys WHERE state = 'pending'`).run()

  const claim = db.transaction(
    (
      scope: string,
      key: string,
      fingerprint: string,
      nowMs: number,
      notBeforeMs: number
    ): IdempotencyClaim => {
      const row = get.get(scope, key)
      if (row && row.created_ms >= notBeforeMs) {
        if (row.state === 'pending') return { state: 'pending', fingerprint: row.fingerprint }
        return { state: 'done', fingerprint: row.fingerprint, answer: toAnswer(row) }
      }
      upsert.run(scope, key, fingerprint, nowMs)
      return { state: 'claimed' }
    }
  )

  return {
    claim: (scope, key, fingerprint, nowMs, notBeforeMs) =>
      claim(scope, key, fingerprint, nowMs, notBeforeMs),
    complete(scope, key, answer) {
      complete.run(answer.status, JSON.stringify(answer.headers), answer.body, scope, key)
    },
    release(scope, key) {
      release.run(scope, key)
    },
    prune: (beforeMs) => prune.run(beforeMs).changes
  }
}

function toAnswer(row: Row): IdempotentAnswer {
  return {
    status: row.status ?? 500,
    headers: row.headers === null ? {} : (JSON.parse(row.headers) as Record<string, string>),
    body: row.body ?? new Uint8Array()
  }
}

/**
 * The store over a database opened later (the store service opens it at its start): built at the
 * first call, so its statements are prepared once and the release of interrupted keys runs once.
 */
export function openingIdempotencyStore(db: () => Db): IdempotencyStore {
  let store: IdempotencyStore | undefined
  const open = () => {
    store ??= createIdempotencyStore(db())
    return store
  }
  return {
    claim: (scope, key, fingerprint, nowMs, notBeforeMs) =>
      open().claim(scope, key, fingerprint, nowMs, notBeforeMs),
    complete: (scope, key, answer) => open().complete(scope, key, answer),
    release: (scope, key) => open().release(scope, key),
    prune: (beforeMs) => open().prune(beforeMs)
  }
}
