/**
 * An online copy of the node database (`dmn db backup`): SQLite's backup API copies every page in
 * one consistent snapshot while the node keeps writing (WAL readers do not block the writer), so a
 * running node need not stop. The copy is checked, made owner-only and only then renamed into place,
 * so a half-written backup never carries the backup's name.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Db } from './database.ts'
import { DatabaseBackupError } from './errors.ts'

/** Owner-only, like the database and the key ring it pairs with. */
const BACKUP_FILE_MODE = 0o600

export interface BackupSummary {
  readonly file: string
  readonly pages: number
  readonly bytes: number
  /** Highest applied migration in the copy: the node version that can open it. */
  readonly schemaVersion: number
}

export interface BackupOptions {
  /** Replace an existing file (refused otherwise). */
  readonly overwrite?: boolean
  /** Pages done and total, as the copy proceeds. */
  readonly onProgress?: (done: number, total: number) => void
}

/** Copies `source` to `file` (see above) and returns what was written. */
export async function backupDatabase(
  source: Db,
  file: string,
  options: BackupOptions = {}
): Promise<BackupSummary> {
  if (existsSync(file) && !options.overwrite) {
    throw new DatabaseBackupError(`${file} exists already: choose another file or pass --force`)
  }
  const partial = `${file}.partial-${process.pid}`
  try {
    closeSync(openSync(partial, 'w', BACKUP_FILE_MODE))
    const result = await source.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        options.onProgress?.(totalPages - remainingPages, totalPages)
        // Pages per step: large steps keep the copy short; the node's writes wait only between steps.
        return 1_000
      }
    })
    const summary = checkCopy(partial)
    const fd = openSync(partial, 'r+')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(partial, file)
    syncDirectory(dirname(file))
    return { file, pages: result.totalPages, ...summary }
  } catch (err) {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true })
    if (err instanceof DatabaseBackupError) throw err
    throw new DatabaseBackupError(`backup to ${file} failed: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * The copy becomes one self-contained file (rollback journal, not WAL: nothing beside it is needed;
 * the node turns WAL on again when it opens it), passes SQLite's integrity check, and holds the
 * migration ledger.
 */
function checkCopy(path: string): { bytes: number; schemaVersion: number } {
  const copy = new Database(path, { fileMustExist: true })
  try {
    copy.pragma('journal_mode = DELETE')
    const integrity = copy.pragma('integrity_check', { simple: true })
    if (integrity !== 'ok')
      throw new DatabaseBackupError(`the copy fails SQLite's integrity check: ${integrity}`)
    const pageSize = copy.pragma('page_size', { simple: true }) as number
    const pageCount = copy.pragma('page_count', { simple: true }) as number
    const row = copy.prepare('SELECT max(version) AS version FROM schema_migrations').get() as
      | { version: number | null }
      | undefined
    return { bytes: pageSize * pageCount, schemaVersion: row?.version ?? 0 }
  } finally {
    copy.close()
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
