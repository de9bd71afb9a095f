import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { NonceRepository } from './nonces.ts'

let dir: string
let db: Db
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-nonces-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
})
afterEach(() => {
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('nonce repository', () => {
  it('adds a nonce once per sender, also after the database is reopened', () => {
    const nonces = new NonceRepository(db)
    expect(nonces.add('peerA', 'n1', 1_000)).toBe(true)
    expect(nonces.add('peerA', 'n1', 2_000)).toBe(false)
    expect(nonces.add('peerB', 'n1', 1_000)).toBe(true)
    db.close()
    db = openDatabase(join(dir, 'node.db'))
    expect(new NonceRepository(db).add('peerA', 'n1', 3_000)).toBe(false)
  })

  it('prunes only the nonces that expired before the given time', () => {
    const nonces = new NonceRepository(db)
    nonces.add('peerA', 'old', 1_000)
    nonces.add('peerA', 'edge', 2_000)
    nonces.add('peerA', 'new', 3_000)
    expect(nonces.pruneExpired(2_000)).toBe(1)
    expect(nonces.add('peerA', 'old', 5_000)).toBe(true)
    expect(nonces.add('peerA', 'edge', 5_000)).toBe(false)
    expect(nonces.pruneExpired(2_000)).toBe(0)
  })
})
