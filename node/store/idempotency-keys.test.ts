import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { createIdempotencyStore } from './idempotency-keys.ts'
import { migrate } from './migrations.ts'

const DAY = 86_400_000
const answer = {
  status: 201,
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode('{"a":1}')
}

describe('idempotency keys', () => {
  const dirs: string[] = []
  const open = (dir = mkdtempSync(join(tmpdir(), 'dmn-idem-'))): { db: Db; dir: string } => {
    dirs.push(dir)
    const db = openDatabase(join(dir, 'node.db'))
    migrate(db)
    return { db, dir }
  }
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  it('claims a key once, then answers what holds it: pending, then the kept answer', () => {
    const { db } = open()
    const store = createIdempotencyStore(db)
    expect(store.claim('s', 'k', 'f1', 1_000, 0)).toEqual({ state: 'claimed' })
    expect(store.claim('s', 'k', 'f2', 1_001, 0)).toEqual({ state: 'pending', fingerprint: 'f1' })
    store.complete('s', 'k', answer)
    const held = store.claim('s', 'k', 'f1', 1_002, 0)
    expect(held.state).toBe('done')
    if (held.state !== 'done') return
    expect(held.fingerprint).toBe('f1')
    expect(held.answer.status).toBe(201)
    expect(held.answer.headers).toEqual(answer.headers)
    expect(new TextDecoder().decode(held.answer.body)).toBe('{"a":1}')
    // Scopes are apart.
    expect(store.claim('other', 'k', 'f1', 1_003, 0)).toEqual({ state: 'claimed' })
    db.close()
  })

  it('gives a released key up, and replaces a key older than the retention', () => {
    const { db } = open()
    const store = createIdempotencyStore(db)
    store.claim('s', 'k', 'f1', 1_000, 0)
    store.release('s', 'k')
    expect(store.claim('s', 'k', 'f2', 2_000, 0)).toEqual({ state: 'claimed' })
    store.complete('s', 'k', answer)
    // Past the retention the row counts for nothing: the key is claimed anew.
    expect(store.claim('s', 'k', 'f3', 2_000 + DAY + 1, 2_001)).toEqual({ state: 'claimed' })
    db.close()
  })

  it('prunes keys created before the cut-off, and nothing younger', () => {
    const { db } = open()
    const store = createIdempotencyStore(db)
    store.claim('s', 'old', 'f', 1_000, 0)
    store.complete('s', 'old', answer)
    store.claim('s', 'new', 'f', 5_000, 0)
    store.complete('s', 'new', answer)
    expect(store.prune(3_000)).toBe(1)
    expect(store.claim('s', 'new', 'f', 6_000, 0).state).toBe('done')
    expect(store.claim('s', 'old', 'f', 6_000, 0).state).toBe('claimed')
    db.close()
  })

  it('releases at open the keys an earlier process left pending, and keeps the finished ones', () => {
    const first = open()
    const store = createIdempotencyStore(first.db)
    store.claim('s', 'interrupted', 'f', 1_000, 0)
    store.claim('s', 'finished', 'f', 1_000, 0)
    store.complete('s', 'finished', answer)
    first.db.close()
    const again = createIdempotencyStore(open(first.dir).db)
    expect(again.claim('s', 'interrupted', 'f', 2_000, 0)).toEqual({ state: 'claimed' })
    expect(again.claim('s', 'finished', 'f', 2_000, 0).state).toBe('done')
  })
})
