import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { DatabaseOpenError } from './errors.ts'

export type Db = Database.Database

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
