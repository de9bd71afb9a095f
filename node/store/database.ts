import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { DatabaseOpenError } from './errors.ts'

export type Db = Database.Database

/** The database holds the metadata of every share: owner-only, like the key ring. */
const DATABASE_FILE_MODE = 0o600
/** Files SQLite keeps beside the database in WAL mode; it creates them with the database's mode. */
const WAL_SUFFIXES = ['-wal', '-shm'] as const

export interface OpenDatabaseInit {
  /** `FULL` (default) makes a committed transaction survive power loss in WAL mode. */
  readonly synchronous?: 'FULL' | 'NORMAL' | 'EXTRA'
  readonly busyTimeoutMs?: number
  readonly readonly?: boolean
}

/**
 * Opens (creating if needed) the node's SQLite database in WAL mode with `synchronous` set
 * explicitly and foreign keys enforced.
 */
export function openDatabase(path: string, init: OpenDatabaseInit = {}): Db {
  if (path !== ':memory:' && !init.readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  let db: Db | undefined
  try {
    if (path !== ':memory:' && !init.readonly) restrictFileModes(path)
    db = new Database(path, { readonly: init.readonly ?? false, fileMustExist: init.readonly ?? false })
    db.pragma(`busy_timeout = ${Math.trunc(init.busyTimeoutMs ?? 5_000)}`)
    if (!init.readonly) db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${init.synchronous ?? 'FULL'}`)
    db.pragma('foreign_keys = ON')
  } catch (err) {
    db?.close()
    throw new DatabaseOpenError(`cannot open database ${path}: ${(err as Error).message}`, { cause: err })
  }
  return db
}

/**
 * Creates the database file 0600 before SQLite writes to it (SQLite gives its -wal and -shm files the
 * database's mode), and tightens the files of a database made by an older version.
 */
function restrictFileModes(path: string): void {
  closeSync(openSync(path, 'a', DATABASE_FILE_MODE))
  for (const file of [path, ...WAL_SUFFIXES.map((suffix) => `${path}${suffix}`)]) {
    if (existsSync(file)) chmodSync(file, DATABASE_FILE_MODE)
  }
}
