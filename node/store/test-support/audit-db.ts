import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AuditRepositories, auditRepositories } from '../audit-repositories.ts'
import { type Db, openDatabase } from '../database.ts'
import { migrate } from '../migrations.ts'

/** A migrated node database in a fresh temp dir, with the audit repositories over it. */
export interface AuditTestDb {
  readonly db: Db
  readonly repos: AuditRepositories
  /** Inserts a record and an outgoing share (outbox rows reference shares); returns the share id. */
  share(): string
  /** Closes the database and removes its directory. */
  remove(): void
}

export function auditTestDb(): AuditTestDb {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-store-'))
  const db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  const record = db.prepare(
    'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, 1, ?)'
  )
  const share = db.prepare(
    `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, created_at, updated_at)
     VALUES (?, 'out', ?, ?, 'S', 'R', 'standard', 'queued', ?, ?)`
  )
  return {
    db,
    repos: auditRepositories(db),
    share() {
      const t = new Date().toISOString()
      const shareId = randomBytes(16).toString('hex')
      const dataHash = randomBytes(32).toString('hex')
      const recordId = record.run(dataHash, Buffer.from('x'), t).lastInsertRowid
      share.run(shareId, recordId, dataHash, t, t)
      return shareId
    },
    remove() {
      if (db.open) db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
