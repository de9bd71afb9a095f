import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { type IdentityRecordRow, IdentityRecordRepository } from './identity-records.ts'
import { migrate } from './migrations.ts'

const row = (n: number, over: Partial<IdentityRecordRow> = {}): IdentityRecordRow => ({
  txHash: `0x${String(n).repeat(64)}`,
  logIndex: n,
  blockNumber: 10 + n,
  blockHash: `0x${'b'.repeat(63)}${n}`,
  account: `0x${'a'.repeat(40)}`,
  peerId: '12D3KooWA1111111111111111111111111111111111111111111',
  peerIdHash: 'c'.repeat(64),
  record: `{"record":${n}}`,
  recordHash: 'd'.repeat(64),
  problem: null,
  ...over
})

let dir: string
let db: Db
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-identities-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
})
afterEach(() => {
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('identity record repository', () => {
  it('keeps the outcome of each NodeRegistered log by transaction and log index', () => {
    const repo = new IdentityRecordRepository(db)
    repo.put(row(1))
    repo.put(row(2, { peerId: null, problem: 'bad_peer_signature' }))
    expect(repo.get(row(1).txHash, 1)).toEqual(row(1))
    expect(repo.get(row(2).txHash.toUpperCase().replace('0X', '0x'), 2)).toMatchObject({
      peerId: null,
      problem: 'bad_peer_signature'
    })
    expect(repo.get(row(1).txHash, 2)).toBeUndefined()
  })

  it('replaces the outcome of a log seen again in another block (a chain that was replaced)', () => {
    const repo = new IdentityRecordRepository(db)
    repo.put(row(3))
    repo.put(
      row(3, { blockHash: `0x${'e'.repeat(64)}`, blockNumber: 99, problem: 'account_mismatch', peerId: null })
    )
    expect(repo.get(row(3).txHash, 3)).toMatchObject({ blockNumber: 99, problem: 'account_mismatch' })
    expect(db.prepare('SELECT count(*) AS n FROM identity_records').get()).toEqual({ n: 1 })
  })
})
