import { type Db, openDatabase } from '../store/database.ts'
import { DatabaseOpenError } from '../store/errors.ts'
import { migrate } from '../store/migrations.ts'
import { databasePath } from '../store/store-service.ts'
import type { CliContext } from './context.ts'

/**
 * Opens the node database at `<dataDir>/` with the configured store settings, migrates it unless
 * `{ migrate: false }`, runs `fn`, and closes the database once `fn` is done: after it returns, after
 * its promise settles, or when either throws.
 */
export function withDatabase<T>(ctx: CliContext, fn: (db: Db) => T, options: { migrate?: boolean } = {}): T {
  const db = openNodeDatabase(ctx)
  let result: T
  try {
    if (options.migrate !== false) migrate(db)
    result = fn(db)
  } catch (err) {
    db.close()
    throw err
  }
  if (result instanceof Promise) return result.finally(() => db.close()) as T
  db.close()
  return result
}

/**
 * The node database opened (and migrated) when `db()` is first called, for a command that needs it
 * only after its other work succeeded; `close()` closes it if it was opened.
 */
export function lazyDatabase(ctx: CliContext): { db: () => Db; close: () => void } {
  let db: Db | undefined
  return {
    db() {
      if (db) return db
      const opened = openNodeDatabase(ctx)
      try {
        migrate(opened)
      } catch (err) {
        opened.close()
        throw err
      }
      db = opened
      return db
    },
    close() {
      db?.close()
      db = undefined
    }
  }
}

/** The database of the configured data directory; failing, the error names the setting that chose it. */
function openNodeDatabase(ctx: CliContext): Db {
  const cfg = ctx.config()
  try {
    return openDatabase(databasePath(cfg.dataDir), cfg.store)
  } catch (err) {
    if (!(err instanceof DatabaseOpenError)) throw err
    throw new DatabaseOpenError(`${err.message} (the data directory comes from --data-dir or DATA_DIR)`, {
      cause: err
    })
  }
}
