import type { Db } from '../database.ts'
import { EVENT_TRIGGERS } from '../event-log.ts'

/**
 * For benchmarks that price the event log: drops the triggers that write it and returns the
 * function that creates them again from their own stored SQL. Never for a node that serves: while
 * they are gone, state changes leave no event.
 */
export function suspendEventTriggers(db: Db): () => void {
  const read = db.prepare<[string], { sql: string }>(
    `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?`
  )
  const saved = EVENT_TRIGGERS.map((name) => {
    const row = read.get(name)
    if (!row) throw new Error(`trigger ${name} is not in this database`)
    return { name, sql: row.sql }
  })
  db.transaction(() => {
    for (const { name } of saved) db.exec(`DROP TRIGGER ${name}`)
  })()
  return () => {
    db.transaction(() => {
      for (const { sql } of saved) db.exec(sql)
    })()
  }
}
