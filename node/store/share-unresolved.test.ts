import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { migrate, readMigrations } from './migrations.ts'
import { ShareRepository } from './shares.ts'

const dirs: string[] = []
const opened: Db[] = []
function tempDb(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-unresolved-'))
  dirs.push(dir)
  const db = openDatabase(join(dir, 'node.db'))
  opened.push(db)
  return db
}

afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const ADDRESS = `0x${'b'.repeat(40)}`
const PEER = `12D3KooW${'B'.repeat(44)}`

function insertRecord(db: Db): number {
  return Number(
    db
      .prepare(
        `INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, x'00', 1, 'now')`
      )
      .run('a'.repeat(64)).lastInsertRowid
  )
}

describe('migration 0011: the unresolved state', () => {
  it('rebuilds shares keeping every row, its outbox entries and its indexes', () => {
    const db = tempDb()
    const before = readMigrations().filter((m) => m.version < 11)
    migrate(db, before)
    const recordId = insertRecord(db)
    db.prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, recipient_label, tier, state,
         envelope, receipt, attempts, next_attempt_ms, expires_ms, last_error, created_at, updated_at)
       VALUES (?, 'out', ?, ?, 'S', ?, ?, 'high', 'delivered', x'0102', x'7b7d', 3, NULL, 9000, 'once failed', 't1', 't2')`
    ).run('1'.repeat(32), recordId, 'a'.repeat(64), PEER, ADDRESS)
    db.prepare(
      `INSERT INTO outbox (kind, share_id, payload, created_at, updated_at) VALUES ('share', ?, '{}', 'now', 'now')`
    ).run('1'.repeat(32))
    const row = db.prepare('SELECT * FROM shares').get()
    // The old CHECK refuses the new state.
    expect(() => db.prepare("UPDATE shares SET state = 'unresolved'").run()).toThrow(/CHECK/)

    migrate(db)
    expect(db.prepare('SELECT * FROM shares').get()).toEqual(row)
    expect(db.pragma('foreign_key_check')).toEqual([])
    const indexes = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'shares' AND sql IS NOT NULL"
      )
      .all()
    expect(indexes).toEqual(expect.arrayContaining([{ name: 'shares_data_hash' }, { name: 'shares_due' }]))
    // The outbox still points at the rebuilt table: a share that is not there is refused.
    expect(() =>
      db
        .prepare(
          `INSERT INTO outbox (kind, share_id, payload, created_at, updated_at) VALUES ('share', ?, '{}', 'now', 'now')`
        )
        .run('9'.repeat(32))
    ).toThrow(/FOREIGN KEY/)
    db.prepare("UPDATE shares SET state = 'unresolved'").run()
    expect(() => db.prepare("UPDATE shares SET state = 'lost'").run()).toThrow(/CHECK/)
  })
})

describe('unresolved shares in the repository', () => {
  function setup() {
    const db = tempDb()
    migrate(db)
    const recordId = insertRecord(db)
    const shares = new ShareRepository(db)
    const unresolved = (shareId: string, nextAttemptMs: number) =>
      shares.insert({
        shareId,
        direction: 'out',
        recordId,
        dataHash: 'a'.repeat(64),
        sender: 'S',
        recipient: ADDRESS,
        recipientLabel: ADDRESS.toUpperCase().replace('0X', '0x'),
        tier: 'standard',
        state: 'unresolved',
        nextAttemptMs,
        expiresMs: 100_000
      })
    return { shares, unresolved }
  }

  it('hands out due look-ups, never as deliveries, and resolves a share once', () => {
    const { shares, unresolved } = setup()
    unresolved('1'.repeat(32), 100)
    unresolved('2'.repeat(32), 5_000)
    expect(shares.listUnresolvedDue(1_000, 10).map((s) => s.shareId)).toEqual(['1'.repeat(32)])
    expect(shares.nextUnresolvedMs()).toBe(100)
    // The delivery queue does not see them.
    expect(shares.listDue(10_000, 10)).toEqual([])
    expect(shares.nextDueMs()).toBeUndefined()
    expect(shares.claim('1'.repeat(32))).toBe(false)

    shares.markLookupAgain('1'.repeat(32), 7_000, 'RecipientNotRegisteredError: not yet')
    expect(shares.get('1'.repeat(32))).toMatchObject({
      state: 'unresolved',
      nextAttemptMs: 7_000,
      lastError: 'RecipientNotRegisteredError: not yet'
    })
    expect(shares.nextUnresolvedMs()).toBe(5_000)

    const resolved = shares.markResolved('1'.repeat(32), PEER, 8_000)
    expect(resolved).toMatchObject({
      state: 'queued',
      recipient: PEER,
      recipientLabel: ADDRESS.toUpperCase().replace('0X', '0x'),
      nextAttemptMs: 8_000,
      lastError: null
    })
    expect(shares.markResolved('1'.repeat(32), PEER, 9_000)).toBeUndefined()
    expect(shares.listDue(8_000, 10).map((s) => s.shareId)).toEqual(['1'.repeat(32)])
    expect(shares.countByState()).toEqual({ 'out:queued': 1, 'out:unresolved': 1 })
  })

  it('makes the shares waiting for an address due now when a peer binding it appears', () => {
    const { shares, unresolved } = setup()
    unresolved('4'.repeat(32), 50_000)
    expect(shares.advanceUnresolved(`0x${'c'.repeat(40)}`, 1_000)).toBe(0)
    expect(shares.advanceUnresolved(ADDRESS, 1_000)).toBe(1)
    expect(shares.listUnresolvedDue(1_000, 10).map((s) => s.shareId)).toEqual(['4'.repeat(32)])
    // Never later than it was.
    expect(shares.advanceUnresolved(ADDRESS, 60_000)).toBe(0)
  })

  it('keeps a failed share failed: a late look-up neither resolves nor reschedules it', () => {
    const { shares, unresolved } = setup()
    unresolved('3'.repeat(32), 100)
    shares.markFailed('3'.repeat(32), 'expired unresolved: RecipientNotRegisteredError: not yet')
    shares.markLookupAgain('3'.repeat(32), 50_000, 'late')
    expect(shares.markResolved('3'.repeat(32), PEER, 1)).toBeUndefined()
    expect(shares.get('3'.repeat(32))).toMatchObject({
      state: 'failed',
      recipient: ADDRESS,
      nextAttemptMs: null,
      lastError: 'expired unresolved: RecipientNotRegisteredError: not yet'
    })
    expect(shares.listUnresolvedDue(1e12, 10)).toEqual([])
  })
})
