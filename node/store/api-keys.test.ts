import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ApiKeyRegistry, hasScope } from '../core/ports.ts'
import { createApiKeyStore } from './api-keys.ts'
import { type Db, openDatabase } from './database.ts'
import { migrate } from './migrations.ts'

let dir: string
let db: Db
let now: Date
let keys: ApiKeyRegistry

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-keys-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  now = new Date('2026-11-23T10:00:00Z')
  keys = createApiKeyStore(db, { now: () => now })
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('API key store', () => {
  it('creates random keys and stores only their hash', () => {
    const a = keys.create({ name: 'a', scopes: ['read'] })
    const b = keys.create({ name: 'b', scopes: ['read'] })
    expect(a.key).not.toBe(b.key)
    const rows = db.prepare('SELECT * FROM api_keys').all() as Record<string, unknown>[]
    const dump = JSON.stringify(rows)
    expect(dump).not.toContain(a.key)
    // The secret is everything after `dmn_<16 hex>_`; base64url may itself contain `_`.
    const secret = a.key.slice('dmn_'.length + 16 + 1)
    expect(secret).toHaveLength(43)
    expect(dump).not.toContain(secret)
    expect(rows[0]?.['key_hash']).toMatch(/^[0-9a-f]{64}$/)
  })

  it('accepts the key, refuses a one-character change of it', () => {
    const { key, info } = keys.create({ name: 'a', scopes: ['share', 'read'] })
    expect(keys.check(key)).toMatchObject({ ok: true, key: { id: info.id, scopes: ['read', 'share'] } })
    const last = key.at(-1) === 'A' ? 'B' : 'A'
    expect(keys.check(key.slice(0, -1) + last)).toEqual({ ok: false, reason: 'invalid', keyId: null })
    expect(keys.check('')).toEqual({ ok: false, reason: 'invalid', keyId: null })
  })

  it('expires keys at their expiry time', () => {
    const { key } = keys.create({ name: 'a', scopes: ['read'], expiresAt: new Date(now.getTime() + 1000) })
    expect(keys.check(key).ok).toBe(true)
    now = new Date(now.getTime() + 1000)
    expect(keys.check(key)).toMatchObject({ ok: false, reason: 'expired' })
  })

  it('revokes keys and keeps them listed; unknown ids are ApiKeyNotFoundError', () => {
    const { key, info } = keys.create({ name: 'a', scopes: ['read'] })
    expect(keys.revoke(info.id).revokedAt).toBe(now.toISOString())
    expect(keys.check(key)).toEqual({ ok: false, reason: 'revoked', keyId: info.id })
    expect(keys.list()).toHaveLength(1)
    expect(() => keys.revoke('0000000000000000')).toThrow(
      expect.objectContaining({ name: 'ApiKeyNotFoundError' })
    )
  })

  it('refuses empty names, unknown scopes and past expiry', () => {
    const named = (fn: () => unknown) =>
      expect(fn).toThrow(expect.objectContaining({ name: 'InvalidApiKeyRequestError' }))
    named(() => keys.create({ name: ' ', scopes: ['read'] }))
    named(() => keys.create({ name: 'a', scopes: [] }))
    named(() => keys.create({ name: 'a', scopes: ['root' as 'read'] }))
    named(() => keys.create({ name: 'a', scopes: ['read'], expiresAt: new Date(now.getTime() - 1) }))
  })

  it('records last use at most once a minute', () => {
    const { key, info } = keys.create({ name: 'a', scopes: ['read'] })
    keys.check(key)
    expect(keys.list()[0]?.lastUsedAt).toBe(now.toISOString())
    const first = now.toISOString()
    now = new Date(now.getTime() + 30_000)
    keys.check(key)
    expect(keys.list().find((k) => k.id === info.id)?.lastUsedAt).toBe(first)
    now = new Date(now.getTime() + 30_000)
    keys.check(key)
    expect(keys.list()[0]?.lastUsedAt).toBe(now.toISOString())
  })

  it('lets admin stand for every scope', () => {
    expect(hasScope(['admin'], 'share')).toBe(true)
    expect(hasScope(['read'], 'share')).toBe(false)
  })
})
