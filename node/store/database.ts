import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { DatabaseOpenError } from './errors.ts'

export type Db = Database.Database

/** The database holds the metadata of every share: owner-only, like the key ring. */
const DATABASE_FILE_MODE = 0o600
/** Files SQLite keeps beside the database in WAL mode; it creates them with the database's mode. */
const WAL_SUFFIXES = ['-wal', '-shm'] as const
/**
 * WAL pages after which a commit checkpoints (SQLite's default is 1000, 4 MiB): records of up to
 * 1 MiB would otherwise make every few commits copy the WAL back and fsync the database file. The
 * store checkpoints on a timer instead (store-service.ts); this is the backstop.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 16_384

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
    if (!init.readonly) {
      db.pragma('journal_mode = WAL')
      db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
    }
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

/** `PRAGMA synchronous` levels as SQLite reports them. */
const SYNCHRONOUS_NORMAL = 1

/**
 * Runs a transaction whose commit need not reach the disk by itself. In WAL mode with
 * `synchronous = NORMAL` a commit is written to the WAL without an fsync: it survives a crash of
 * the process, and the next commit at the configured level (FULL or EXTRA) syncs the WAL, carrying
 * every earlier commit to the disk with it, in order. Inside an open transaction `work` runs as is
 * (the enclosing commit decides). With `synchronous` already NORMAL or OFF nothing changes.
 */
export function relaxedCommitOf(db: Db): <T>(work: () => T) => T {
  const configured = db.pragma('synchronous', { simple: true }) as number
  if (configured <= SYNCHRONOUS_NORMAL || db.memory) return (work) => db.transaction(work)()
  // Not prepared statements: SQLite applies `PRAGMA synchronous = N` when it compiles the statement,
  // so a prepared one changes the level once, when it is prepared, and never when it runs.
  const relax = `PRAGMA synchronous = ${SYNCHRONOUS_NORMAL}`
  const restore = `PRAGMA synchronous = ${configured}`
  return (work) => {
    if (db.inTransaction) return work()
    db.exec(relax)
    try {
      return db.transaction(work)()
    } finally {
      db.exec(restore)
    }
  }
}
