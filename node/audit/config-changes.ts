/**
 * Config changes between starts go to the security log: the node keeps a digest of its effective
 * configuration (secrets already redacted) and, when it differs at start, appends `config.changed`
 * with the settings that changed (paths only, no values: values may be sensitive even if not secret).
 */
import { createHash } from 'node:crypto'
import type { Db } from '../store/database.ts'
import type { SecurityLog } from './security-log.ts'

const KEY = 'audit.config_snapshot'

function leaves(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out)
  } else {
    out.set(
      prefix,
      createHash('sha256')
        .update(JSON.stringify(value) ?? 'undefined')
        .digest('hex')
    )
  }
  return out
}

/** Compares `snapshot` with the one stored at the previous start; logs and stores it when it changed. */
export function recordConfigChanges(db: Db, log: SecurityLog, snapshot: unknown): string[] {
  const now = leaves(snapshot)
  const row = db.prepare('SELECT value FROM node_state WHERE key = ?').get(KEY) as
    | { value: string }
    | undefined
  const before = new Map<string, string>(row ? (JSON.parse(row.value) as [string, string][]) : [])
  const changed = [...new Set([...now.keys(), ...before.keys()])]
    .filter((k) => now.get(k) !== before.get(k))
    .sort()
  if (row && changed.length === 0) return []
  db.transaction(() => {
    if (row) log.append('config.changed', { paths: changed })
    db.prepare(
      `INSERT INTO node_state (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
    ).run(KEY, JSON.stringify([...now.entries()]), new Date().toISOString())
  })()
  return row ? changed : []
}
