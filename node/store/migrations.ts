import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Db } from './database.ts'
import {
  DatabaseNewerThanCodeError,
  MigrationChecksumError,
  MigrationFailedError,
  MigrationFileError
} from './errors.ts'

/** The project's `migrations/` folder. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/

export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
  readonly checksum: string
}

export interface MigrationStatus {
  readonly version: number
  readonly name: string
  readonly state: 'applied' | 'pending'
  readonly appliedAt?: string
}

/** Reads `NNNN_name.sql` files in version order; a misnamed file or a duplicate number is an error. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE_NAME.exec(file)
      if (!match) throw new MigrationFileError(`migration file ${file} is not named NNNN_name.sql`)
      const sql = readFileSync(join(dir, file), 'utf8')
      return {
        version: Number(match[1]),
        name: match[2] as string,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex')
      }
    })
    .sort((a, b) => a.version - b.version)
  for (let i = 1; i < migrations.length; i++) {
    const [prev, cur] = [migrations[i - 1] as Migration, migrations[i] as Migration]
    if (prev.version === cur.version) {
      throw new MigrationFileError(`two migration files share number ${String(cur.version).padStart(4, '0')}`)
    }
  }
  return migrations
}

interface AppliedRow {
  version: number
  name: string
  checksum: string
  applied_at: string
}

function ensureLedger(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`)
}

function appliedRows(db: Db): AppliedRow[] {
  ensureLedger(db)
  return db
    .prepare('SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version')
    .all() as AppliedRow[]
}

/** Refuses a database written by newer code or whose applied migrations were edited since. */
function checkApplied(applied: readonly AppliedRow[], known: readonly Migration[]): void {
  for (const row of applied) {
    const migration = known.find((m) => m.version === row.version)
    if (!migration) {
      throw new DatabaseNewerThanCodeError(
        `database has migration ${row.version} (${row.name}) which this version of the node does not know; upgrade the node`
      )
    }
    if (migration.checksum !== row.checksum) {
      throw new MigrationChecksumError(
        `migration ${String(row.version).padStart(4, '0')}_${row.name}.sql changed after it was applied (checksum ${row.checksum.slice(0, 12)} expected, file has ${migration.checksum.slice(0, 12)})`
      )
    }
  }
}

/**
 * Applies pending migrations in order, each in its own transaction together with its ledger row,
 * so a failing migration leaves the database exactly as it was before it. Returns what was applied.
 */
export function migrate(
  db: Db,
  migrations: readonly Migration[] = readMigrations(),
  now: () => Date = () => new Date()
): Migration[] {
  const applied = appliedRows(db)
  checkApplied(applied, migrations)
  const done = new Set(applied.map((row) => row.version))
  const record = db.prepare(
    'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)'
  )
  const pending = migrations.filter((m) => !done.has(m.version))
  for (const migration of pending) {
    try {
      db.transaction(() => {
        db.exec(migration.sql)
        record.run(migration.version, migration.name, migration.checksum, now().toISOString())
      })()
    } catch (err) {
      throw new MigrationFailedError(
        `migration ${String(migration.version).padStart(4, '0')}_${migration.name} failed and was rolled back: ${(err as Error).message}`,
        { cause: err }
      )
    }
  }
  return pending
}

/** Every known migration with whether it is applied; checks the database as `migrate` does. */
export function migrationStatus(
  db: Db,
  migrations: readonly Migration[] = readMigrations()
): MigrationStatus[] {
  const applied = appliedRows(db)
  checkApplied(applied, migrations)
  return migrations.map((m) => {
    const row = applied.find((r) => r.version === m.version)
    return row
      ? { version: m.version, name: m.name, state: 'applied', appliedAt: row.applied_at }
      : { version: m.version, name: m.name, state: 'pending' }
  })
}
