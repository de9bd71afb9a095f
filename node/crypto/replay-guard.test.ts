import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from '../store/database.ts'
import { migrate } from '../store/migrations.ts'
import { NonceRepository } from '../store/nonces.ts'
import { ReplayGuard } from './replay-guard.ts'

let dir: string
let db: Db
const nonce = (n: number) => n.toString(16).padStart(32, '0')
const T = 1_800_000_000_000

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-replay-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
})
afterEach(() => {
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('ReplayGuard', () => {
  it('accepts a nonce once per sender and refuses it again', () => {
    const guard = new ReplayGuard(new NonceRepository(db))
    guard.check('peerA', nonce(1), T, T)
    expect(() => guard.check('peerA', nonce(1), T, T + 1000)).toThrow(
      expect.objectContaining({ name: 'ReplayedNonceError' })
    )
    guard.check('peerB', nonce(1), T, T)
  })

  it('refuses timestamps outside the window either way', () => {
    const guard = new ReplayGuard(new NonceRepository(db), { windowSeconds: 300 })
    guard.check('peerA', nonce(2), T - 300_000, T)
    guard.check('peerA', nonce(3), T + 300_000, T)
    for (const ts of [T - 300_001, T + 300_001, Number.NaN]) {
      expect(() => guard.check('peerA', nonce(4), ts, T)).toThrow(
        expect.objectContaining({ name: 'StaleTimestampError' })
      )
    }
  })

  it('still refuses a replay after the database is closed and reopened', () => {
    new ReplayGuard(new NonceRepository(db)).check('peerA', nonce(5), T, T)
    db.close()
    db = openDatabase(join(dir, 'node.db'))
    expect(() => new ReplayGuard(new NonceRepository(db)).check('peerA', nonce(5), T, T + 10_000)).toThrow(
      expect.objectContaining({ name: 'ReplayedNonceError' })
    )
  })

  it('prunes only nonces whose timestamps have left the window', () => {
    const guard = new ReplayGuard(new NonceRepository(db), { windowSeconds: 10, pruneEvery: 0 })
    guard.check('peerA', nonce(6), T, T)
    guard.check('peerA', nonce(7), T + 5000, T + 5000)
    expect(guard.prune(T + 12_000)).toBe(1)
    expect(() => guard.check('peerA', nonce(7), T + 5000, T + 12_000)).toThrow(
      expect.objectContaining({ name: 'ReplayedNonceError' })
    )
    expect(() => guard.check('peerA', nonce(6), T, T + 12_000)).toThrow(
      expect.objectContaining({ name: 'StaleTimestampError' })
    )
  })
})
