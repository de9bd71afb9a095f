import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { MIGRATIONS_DIR, migrate, migrationStatus, readMigrations } from './migrations.ts'

const opened: Db[] = []
function tempDb(): { db: Db; path: string } {
  const path = join(mkdtempSync(join(tmpdir(), 'dmn-db-')), 'node.db')
  const db = openDatabase(path)
  opened.push(db)
  return { db, path }
}

/** A private copy of the project's migrations that a test may edit. */
function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-migrations-'))
  for (const file of readdirSync(MIGRATIONS_DIR)) copyFileSync(join(MIGRATIONS_DIR, file), join(dir, file))
  return dir
}

function tables(db: Db): string[] {
  return (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string
    }[]
  ).map((r) => r.name)
}

afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close()
})

describe('openDatabase', () => {
  it('uses WAL, the requested synchronous level and enforces foreign keys', () => {
    const { db } = tempDb()
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('synchronous', { simple: true })).toBe(2) // FULL
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
    const path = join(mkdtempSync(join(tmpdir(), 'dmn-db-')), 'normal.db')
    const normal = openDatabase(path, { synchronous: 'NORMAL' })
    opened.push(normal)
    expect(normal.pragma('synchronous', { simple: true })).toBe(1)
  })

  it('refuses a file that is not a database with DatabaseOpenError', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dmn-db-')), 'junk.db')
    writeFileSync(path, 'this is not sqlite '.repeat(100))
    expect(() => openDatabase(path)).toThrow(expect.objectContaining({ name: 'DatabaseOpenError' }))
  })
})

describe('migrate', () => {
  it('builds the schema on an empty database and records each migration', () => {
    const { db } = tempDb()
    const applied = migrate(db)
    expect(applied.map((m) => m.version)).toEqual(readMigrations().map((m) => m.version))
    expect(tables(db)).toEqual(
      expect.arrayContaining([
        'records',
        'shares',
        'peers',
        'outbox',
        'audit_events',
        'api_keys',
        'nonces',
        'security_log'
      ])
    )
    expect(migrationStatus(db).every((m) => m.state === 'applied')).toBe(true)
  })

  it('does nothing when run again', () => {
    const { db } = tempDb()
    migrate(db)
    const before = db.prepare('SELECT * FROM schema_migrations').all()
    expect(migrate(db)).toEqual([])
    expect(db.prepare('SELECT * FROM schema_migrations').all()).toEqual(before)
  })

  it('enforces foreign keys in the schema it builds', () => {
    const { db } = tempDb()
    migrate(db)
    expect(() =>
      db
        .prepare(
          `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, created_at, updated_at)
           VALUES ('s', 'out', 999, 'h', 'a', 'b', 'standard', 'queued', 'now', 'now')`
        )
        .run()
    ).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }))
  })

  it('refuses a database whose applied migration file changed since', () => {
    const dir = migrationsCopy()
    const { db } = tempDb()
    migrate(db, readMigrations(dir))
    const first = readdirSync(dir).sort()[0] as string
    writeFileSync(join(dir, first), '-- edited\nCREATE TABLE sneaky (x INTEGER);\n')
    expect(() => migrate(db, readMigrations(dir))).toThrow(
      expect.objectContaining({ name: 'MigrationChecksumError' })
    )
    expect(() => migrationStatus(db, readMigrations(dir))).toThrow(
      expect.objectContaining({ name: 'MigrationChecksumError' })
    )
    expect(tables(db)).not.toContain('sneaky')
  })

  it('refuses a database written by a newer version of the node', () => {
    const dir = migrationsCopy()
    const { db } = tempDb()
    writeFileSync(join(dir, '9999_from_the_future.sql'), 'CREATE TABLE future (x INTEGER);\n')
    migrate(db, readMigrations(dir))
    expect(() => migrate(db)).toThrow(expect.objectContaining({ name: 'DatabaseNewerThanCodeError' }))
  })

  it('rolls a failing migration back completely and keeps the earlier ones', () => {
    const dir = migrationsCopy()
    const { db, path } = tempDb()
    migrate(db, readMigrations(dir))
    writeFileSync(
      join(dir, '9000_half_done.sql'),
      "CREATE TABLE half (x INTEGER);\nINSERT INTO half VALUES (1);\nINSERT INTO no_such_table VALUES ('boom');\n"
    )
    expect(() => migrate(db, readMigrations(dir))).toThrow(
      expect.objectContaining({ name: 'MigrationFailedError' })
    )
    expect(tables(db)).not.toContain('half')
    const versions = (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
      (r) => r.version
    )
    expect(versions).not.toContain(9000)
    db.close()
    // The file on disk agrees after reopening.
    const reopened = openDatabase(path)
    opened.push(reopened)
    expect(tables(reopened)).not.toContain('half')
    expect(migrationStatus(reopened).every((m) => m.state === 'applied')).toBe(true)
  })

  it('rejects misnamed and duplicate migration files', () => {
    const misnamed = migrationsCopy()
    writeFileSync(join(misnamed, 'add-stuff.sql'), 'SELECT 1;')
    expect(() => readMigrations(misnamed)).toThrow(expect.objectContaining({ name: 'MigrationFileError' }))
    const duplicate = migrationsCopy()
    writeFileSync(join(duplicate, '0001_again.sql'), 'SELECT 1;')
    expect(() => readMigrations(duplicate)).toThrow(expect.objectContaining({ name: 'MigrationFileError' }))
  })
})
