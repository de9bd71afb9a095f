import type { Db } from './database.ts'

/**
 * Of the triggers `names` that keep `table`, those missing from the database (a later migration
 * rebuilt a table they sit on, which drops them without a word); empty when `table` itself is not
 * there yet.
 */
export function missingTriggers(db: Db, table: string, names: readonly string[]): string[] {
  const hasTable = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table)
  if (!hasTable) return []
  const present = new Set(
    (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`).all() as { name: string }[]).map(
      (r) => r.name
    )
  )
  return names.filter((name) => !present.has(name))
}
