import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { openDatabase, relaxedCommitOf } from './database.ts'

const modeOf = (path: string) => statSync(path).mode & 0o777
const filesOf = (path: string) => [path, `${path}-wal`, `${path}-shm`]

describe('openDatabase file modes', () => {
  it('creates node.db and its -wal and -shm files 0600 under a permissive umask', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dmn-db-')), 'node.db')
    const previous = process.umask(0o022)
    try {
      const db = openDatabase(path)
      db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
      for (const file of filesOf(path)) expect([file, modeOf(file)]).toEqual([file, 0o600])
      db.close()
    } finally {
      process.umask(previous)
    }
  })

  it('tightens the files of an existing database to 0600 when it is opened', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dmn-db-')), 'node.db')
    // An older node's database, held open so its -wal and -shm files stay.
    const older = new Database(path)
    older.pragma('journal_mode = WAL')
    older.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)')
    for (const file of filesOf(path)) chmodSync(file, 0o644)
    const db = openDatabase(path)
    for (const file of filesOf(path)) expect([file, modeOf(file)]).toEqual([file, 0o600])
    db.close()
    older.close()
  })
})

describe('relaxedCommitOf', () => {
  it('commits at synchronous NORMAL and puts the configured level back, inside no other transaction', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmn-relaxed-'))
    const db = openDatabase(join(dir, 'node.db'), { synchronous: 'FULL' })
    const level = () => db.pragma('synchronous', { simple: true })
    const relaxed = relaxedCommitOf(db)
    expect(level()).toBe(2)
    expect(relaxed(level)).toBe(1)
    expect(level()).toBe(2)
    // Inside an open transaction the enclosing commit decides: the level cannot change there.
    expect(db.transaction(() => relaxed(level))()).toBe(2)
    expect(() =>
      relaxed(() => {
        throw new Error('work failed')
      })
    ).toThrow('work failed')
    expect(level()).toBe(2)
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
