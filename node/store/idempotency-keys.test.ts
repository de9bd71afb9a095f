import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { createIdempotencyStore } from './idempotency-keys.ts'
import { migrate } from './migrations.ts'

const answer = (body: string, status = 201) => ({
  status,
  headers: { 'content-type': 'application/json', location: '/v1/shares/1' },
  body: new TextEncoder().encode(body)
})

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

  it('keeps an answer per scope and key, and gives it back with its fingerprint, byte for byte', () => {
    const { db } = open()
    const store = createIdempotencyStore(db)
    expect(store.find('s', 'k', 0)).toBeUndefined()
    store.keep('s', 'k', { fingerprint: 'f1', answer: answer('{"a":1}') }, 1_000)
    const kept = store.find('s', 'k', 0)
    expect(kept?.fingerprint).toBe('f1')
    expect(kept?.answer.status).toBe(201)
    expect(kept?.answer.headers).toEqual({ 'content-type': 'application/json', location: '/v1/shares/1' })
    expect(new TextDecoder().decode(kept?.answer.body)).toBe('{"a":1}')
    // Scopes are apart: the same key string of another client holds nothing.
    expect(store.find('other', 'k', 0)).toBeUndefined()
    db.close()
  })

  it('counts an answer kept before the retention for nothing, and replaces it', () => {
    const { db } = open()
    const store = createIdempotencyStore(db)
    store.keep('s', 'k', { fingerprint: 'f1', answer: answer('{"a":1}') }, 1_000)
    expect(store.find('s', 'k', 1_001)).toBeUndefined()
    store.keep('s', 'k', { fingerprint: 'f2', answer: answer('{"b":2}', 200) }, 5_000)
    expect(store.find('s', 'k', 1_001)?.fingerprint).toBe('f2')
    db.close()
  })

  it('prunes answers kept before the cut-off, and nothing younger', () => {
    const { db } = open()
    const store = createIdempotencyStore(db)
    store.keep('s', 'old', { fingerprint: 'f', answer: answer('{}') }, 1_000)
    store.keep('s', 'new', { fingerprint: 'f', answer: answer('{}') }, 5_000)
    expect(store.prune(3_000)).toBe(1)
    expect(store.find('s', 'old', 0)).toBeUndefined()
    expect(store.find('s', 'new', 0)).toBeDefined()
    db.close()
  })

  it('still holds its answers after the database is closed and opened again', () => {
    const first = open()
    createIdempotencyStore(first.db).keep('s', 'k', { fingerprint: 'f', answer: answer('{"a":1}') }, 1_000)
    first.db.close()
    const again = open(first.dir)
    expect(createIdempotencyStore(again.db).find('s', 'k', 0)?.fingerprint).toBe('f')
    again.db.close()
  })
})
