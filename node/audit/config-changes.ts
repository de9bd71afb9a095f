/**
 * Config changes between starts go to the security log: the node keeps a digest of its effective
 * configuration (secrets already redacted) and, when it differs at start, appends `config.changed`
 * with the settings that changed (paths only, no values: values may be sensitive even if not secret).
 */
import { createHash } from 'node:crypto'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { SecurityLog } from './security-log.ts'

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
export function recordConfigChanges(
  repos: Pick<AuditRepositories, 'chainState' | 'transaction'>,
  log: SecurityLog,
  snapshot: unknown
): string[] {
  const now = leaves(snapshot)
  const stored = repos.chainState.configSnapshot()
  const before = new Map<string, string>(stored ? (JSON.parse(stored) as [string, string][]) : [])
  const changed = [...new Set([...now.keys(), ...before.keys()])]
    .filter((k) => now.get(k) !== before.get(k))
    .sort()
  if (stored !== undefined && changed.length === 0) return []
  repos.transaction(() => {
    if (stored !== undefined) log.append('config.changed', { paths: changed })
    repos.chainState.setConfigSnapshot(JSON.stringify([...now.entries()]))
  })
  return stored !== undefined ? changed : []
}
