import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startCheckpointer } from './checkpointer.ts'
import { openDatabase } from './database.ts'

let dir: string | undefined
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A database whose own connection never checkpoints, so only the checkpointer folds its WAL back. */
function walOnly() {
  dir = mkdtempSync(join(tmpdir(), 'dmn-checkpoint-'))
  const path = join(dir, 'node.db')
  const db = openDatabase(path, { synchronous: 'FULL' })
  db.pragma('wal_autocheckpoint = 0')
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)')
  const insert = db.prepare<[Uint8Array]>('INSERT INTO blobs (bytes) VALUES (?)')
  return { path, db, write: (bytes: Uint8Array) => db.transaction(() => insert.run(bytes))() }
}

describe('WAL checkpointer', () => {
  it('folds committed rows into the database file from its own thread while the node keeps writing', async () => {
    const { path, db, write } = walOnly()
    const errors: string[] = []
    const checkpointer = startCheckpointer({
      path,
      intervalMs: 10,
      synchronous: 'FULL',
      onError: (message) => errors.push(message)
    })
    const before = statSync(path).size
    const row = randomBytes(256 * 1024)
    for (let i = 0; i < 16; i++) write(row)
    await until(() => statSync(path).size >= before + 16 * row.length, 'the rows in the database file')
    // Commits go on while the thread checkpoints: none of them waits for it or fails.
    for (let i = 0; i < 16; i++) write(row)
    await until(() => statSync(path).size >= before + 32 * row.length, 'the later rows too')
    await checkpointer.stop()
    expect(errors).toEqual([])
    expect((db.prepare('SELECT count(*) AS n FROM blobs').get() as { n: number }).n).toBe(32)
    // Stopped, the thread holds nothing: the node's own final checkpoint empties the WAL.
    db.pragma('wal_checkpoint(TRUNCATE)')
    expect(statSync(`${path}-wal`).size).toBe(0)
    db.close()
  })

  it('reports a database it cannot open, and stops all the same', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dmn-checkpoint-'))
    const errors: string[] = []
    const checkpointer = startCheckpointer({
      path: join(dir, 'missing.db'),
      intervalMs: 10,
      synchronous: 'FULL',
      onError: (message) => errors.push(message)
    })
    await until(() => errors.length > 0, 'the error')
    await checkpointer.stop()
    expect(errors[0]).toMatch(/missing\.db|unable to open|does not exist/i)
  })
})
