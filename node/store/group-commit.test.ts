import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { createGroupCommit } from './group-commit.ts'

/** A SQLite file with one table, and a second connection that sees only what was committed. */
function open(): { db: Db; reader: Db; path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-group-'))
  const path = join(dir, 'node.db')
  const db = openDatabase(path, { synchronous: 'FULL' })
  db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`)
  const reader = openDatabase(path, { readonly: true })
  return { db, reader, path, dir }
}

/** Frames in the WAL file: every commit appends at least one (the frame that marks it committed). */
function walFrames(db: Db, path: string): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const size = statSync(`${path}-wal`).size
  return size === 0 ? 0 : (size - 32) / (24 + pageSize)
}

const committedLabels = (reader: Db) =>
  (reader.prepare('SELECT label FROM items ORDER BY id').all() as { label: string }[]).map((r) => r.label)

describe('group commit', () => {
  const opened: ReturnType<typeof open>[] = []
  const fresh = () => {
    const o = open()
    opened.push(o)
    return o
  }
  afterEach(() => {
    for (const o of opened.splice(0)) {
      o.reader.close()
      o.db.close()
      rmSync(o.dir, { recursive: true, force: true })
    }
  })

  it('writes the writes of one turn in one transaction, and answers each once it is committed', async () => {
    const { db, reader, path } = fresh()
    const group = createGroupCommit(db)
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    const framesBefore = walFrames(db, path)
    const n = 100
    const seenAtAnswer: number[] = []
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        group
          .run(() => Number(insert.run(`item ${i}`).lastInsertRowid))
          .then((id) => {
            // Answered: the other connection already reads the row, so it was committed.
            seenAtAnswer.push((reader.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n)
            return id
          })
      )
    )
    expect(new Set(answers).size).toBe(n)
    expect(seenAtAnswer.every((count) => count === n)).toBe(true)
    expect(group.stats()).toEqual({ commits: 1, committed: n, rolledBack: 0 })
    // Counted by SQLite, not by the helper: separate commits would have left at least n frames.
    expect(walFrames(db, path) - framesBefore).toBeLessThan(10)
    expect(committedLabels(reader)).toEqual(Array.from({ length: n }, (_, i) => `item ${i}`))
  })

  it('rolls back a write that throws alone: its caller gets the error, the group commits the others', async () => {
    const { db, reader } = fresh()
    const group = createGroupCommit(db)
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    const refused = new Error('refused after writing')
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((label) =>
        group.run(() => {
          insert.run(label)
          // Written, then refused: its row must not survive. `d` breaks a constraint instead.
          if (label === 'b') throw refused
          if (label === 'd') insert.run('a')
          return label
        })
      )
    )
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected'])
    expect((outcomes[1] as PromiseRejectedResult).reason).toBe(refused)
    expect((outcomes[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' })
    expect(committedLabels(reader)).toEqual(['a', 'c'])
    expect(group.stats()).toEqual({ commits: 1, committed: 2, rolledBack: 2 })
  })

  it('holds at most maxSize writes in a group: the first group is answered before the next commits', async () => {
    const { db, reader } = fresh()
    const group = createGroupCommit(db, { maxSize: 10 })
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    const committedAtAnswer = new Map<number, number>()
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        group
          .run(() => insert.run(`item ${i}`))
          .then(() => {
            committedAtAnswer.set(i, committedLabels(reader).length)
          })
      )
    )
    expect(group.stats().commits).toBe(3)
    expect(committedAtAnswer.get(0)).toBe(10)
    expect(committedAtAnswer.get(9)).toBe(10)
    expect(committedAtAnswer.get(10)).toBe(20)
    expect(committedAtAnswer.get(24)).toBe(25)
  })

  it('closes a group at maxBytes of declared sizes, and lets a larger write go alone', async () => {
    const { db, reader } = fresh()
    const group = createGroupCommit(db, { maxBytes: 100 })
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    const committedAtAnswer: number[] = []
    const sizes = [40, 40, 40, 500, 10, 10]
    await Promise.all(
      sizes.map((bytes, i) =>
        group
          .run(() => insert.run(`item ${i}`), { bytes })
          .then(() => void committedAtAnswer.push(committedLabels(reader).length))
      )
    )
    // Groups: 40 + 40, then 40 (500 would pass the bound), 500 alone, then 10 + 10.
    expect(committedAtAnswer).toEqual([2, 2, 3, 4, 6, 6])
    expect(group.stats().commits).toBe(4)
  })

  it('starts a new group for writes queued after a flush, and refuses a size below one', async () => {
    const { db } = fresh()
    const group = createGroupCommit(db)
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    await group.run(() => insert.run('first'))
    await group.run(() => insert.run('second'))
    expect(group.stats().commits).toBe(2)
    expect(() => createGroupCommit(db, { maxSize: 0 })).toThrow(RangeError)
    expect(() => createGroupCommit(db, { maxBytes: 0 })).toThrow(RangeError)
  })
  it('rejects every write of a group whose commit fails, and keeps none of them', async () => {
    const { db, reader } = fresh()
    const group = createGroupCommit(db)
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    const results = await Promise.allSettled([
      group.run(() => insert.run('a')),
      // A deferred foreign key is checked at COMMIT: this write passes, the commit does not.
      group.run(() => db.prepare('INSERT INTO child (parent_id) VALUES (42)').run().changes)
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(committedLabels(reader)).toEqual([])
    await group.run(() => insert.run('c'))
    expect(committedLabels(reader)).toEqual(['c'])
  })

  it('waits for a caller announced as arriving, so its write joins the group', async () => {
    const { db, reader } = fresh()
    const group = createGroupCommit(db, { maxWaitMs: 60_000 })
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    // Two callers on their way, as two streams whose envelopes are being opened.
    const firstDone = group.arriving()
    const secondDone = group.arriving()
    const first = group.run(() => insert.run('first'))
    // Turns of the event loop pass; the group holds the first write while the second is on its way.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(group.stats().commits).toBe(0)
    expect(committedLabels(reader)).toEqual([])
    const second = group.run(() => insert.run('second'))
    await Promise.all([first, second])
    firstDone()
    secondDone()
    expect(group.stats().commits).toBe(1)
    expect(committedLabels(reader)).toEqual(['first', 'second'])
  })

  it('commits without a caller that gave up on its way, and without one that never comes after the wait', async () => {
    const { db, reader } = fresh()
    const insert = db.prepare<[string]>('INSERT INTO items (label) VALUES (?)')
    const quick = createGroupCommit(db, { maxWaitMs: 60_000 })
    const arrived = quick.arriving()
    const gaveUp = quick.arriving()
    const held = quick.run(() => insert.run('a'))
    gaveUp()
    await held
    arrived()
    expect(committedLabels(reader)).toEqual(['a'])

    const bounded = createGroupCommit(db, { maxWaitMs: 20 })
    bounded.arriving()
    bounded.arriving()
    await bounded.run(() => insert.run('b'))
    expect(committedLabels(reader)).toEqual(['a', 'b'])
  })

  it('commits relaxed only when every write of the group allows it', async () => {
    const { db } = fresh()
    const group = createGroupCommit(db)
    const level = () => db.pragma('synchronous', { simple: true })
    expect(
      await Promise.all([group.run(level, { durable: false }), group.run(level, { durable: false })])
    ).toEqual([1, 1])
    expect(await Promise.all([group.run(level, { durable: false }), group.run(level)])).toEqual([2, 2])
    expect(level()).toBe(2)
  })
})
