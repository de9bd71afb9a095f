import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { backupDatabase } from './backup.ts'
import { openDatabase } from './database.ts'
import { migrate } from './migrations.ts'

function liveDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-backup-unit-'))
  const db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  // About 1.3 MB: several backup steps of 1,000 pages, so writes land between them.
  db.exec('CREATE TABLE backup_probe (n INTEGER NOT NULL, pad BLOB NOT NULL)')
  const insert = db.prepare('INSERT INTO backup_probe (n, pad) VALUES (?, randomblob(1000))')
  db.transaction(() => {
    for (let n = 0; n < 5_000; n++) insert.run(n)
  })()
  return { dir, db, insert }
}

describe('backupDatabase', () => {
  it('copies a database that another connection keeps writing, as one snapshot, owner-only', async () => {
    const { dir, db, insert } = liveDatabase()
    const reader = openDatabase(join(dir, 'node.db'), { readonly: true })
    const file = join(dir, 'copy.db')
    // Another connection writes between the copy's steps (SQLite then restarts the copy from the new state).
    let written = 0
    const summary = await backupDatabase(reader, file, {
      onProgress: () => {
        if (written < 100) insert.run(5_000 + written++)
      }
    })
    expect(written).toBeGreaterThan(0)
    expect(summary.file).toBe(file)
    expect(summary.schemaVersion).toBeGreaterThan(0)
    expect(summary.pages).toBeGreaterThan(0)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const copy = openDatabase(file, { readonly: true })
    const { count } = copy.prepare('SELECT count(*) AS count FROM backup_probe').get() as { count: number }
    // Every row committed before the copy, and the later ones as the copy's last state had them.
    expect(count).toBeGreaterThanOrEqual(5_000)
    expect(count).toBeLessThanOrEqual(5_000 + written)
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok')
    copy.close()
    reader.close()
    db.close()
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([])
  })

  it('refuses to overwrite a file unless told to, and leaves no partial copy behind', async () => {
    const { dir, db } = liveDatabase()
    const file = join(dir, 'taken.db')
    writeFileSync(file, 'something else')
    await expect(backupDatabase(db, file)).rejects.toMatchObject({ name: 'DatabaseBackupError' })
    expect(statSync(file).size).toBe('something else'.length)
    const summary = await backupDatabase(db, file, { overwrite: true })
    expect(statSync(file).size).toBe(summary.bytes)
    db.close()
  })

  it('fails with a typed error, and no file under the name, when the destination cannot be written', async () => {
    const { dir, db } = liveDatabase()
    const file = join(dir, 'missing-dir', 'copy.db')
    await expect(backupDatabase(db, file)).rejects.toMatchObject({ name: 'DatabaseBackupError' })
    expect(existsSync(file)).toBe(false)
    db.close()
  })
})
