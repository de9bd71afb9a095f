import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { GroupCommit } from './group-commit.ts'

let dir: string
let db: Db
let other: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-group-'))
  db = openDatabase(join(dir, 'node.db'), { synchronous: 'FULL' })
  db.exec(`CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`)
  other = openDatabase(join(dir, 'node.db'), { readonly: true })
})
afterEach(() => {
  other.close()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const insert = (name: string) => () =>
  Number(db.prepare('INSERT INTO item (name) VALUES (?)').run(name).lastInsertRowid)
/** What another connection sees: only what is committed. */
const committed = () => other.prepare('SELECT name FROM item ORDER BY id').pluck().all() as string[]

describe('group commit', () => {
  it('commits the works of one turn in one transaction and settles each after the commit', async () => {
    const group = new GroupCommit(db)
    const seen: string[][] = []
    const works = ['a', 'b', 'c'].map((name) =>
      group.run(insert(name)).then((id) => {
        // Settled only once the group is visible to another connection, that is, committed.
        seen.push(committed())
        return id
      })
    )
    expect(await Promise.all(works)).toEqual([1, 2, 3])
    expect(group.groups).toBe(1)
    expect(group.works).toBe(3)
    expect(seen).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c']
    ])
  })

  it('undoes a failing work alone and rejects only its caller', async () => {
    const group = new GroupCommit(db)
    const results = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => {
        insert('half')()
        insert('a')()
      }),
      group.run(insert('b'))
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' })
    // The failing work's first insert went with its savepoint.
    expect(committed()).toEqual(['a', 'b'])
    expect(group.groups).toBe(1)
  })

  it('rejects every work of a group whose commit fails, and keeps none of them', async () => {
    const group = new GroupCommit(db)
    const results = await Promise.allSettled([
      group.run(insert('a')),
      // A deferred foreign key is checked at COMMIT: this work passes, the commit does not.
      group.run(() => db.prepare('INSERT INTO child (parent_id) VALUES (42)').run().changes)
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(committed()).toEqual([])
    expect(await group.run(insert('c'))).toBeGreaterThan(0)
    expect(committed()).toEqual(['c'])
  })

  it('waits for a caller announced as arriving, so its work joins the group', async () => {
    const group = new GroupCommit(db, { maxWaitMs: 60_000 })
    // Two callers on their way, as two streams whose envelopes are being opened.
    const firstDone = group.arriving()
    const secondDone = group.arriving()
    const first = group.run(insert('first'))
    // Turns of the event loop pass; the group holds the first work while the second is on its way.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(group.groups).toBe(0)
    expect(committed()).toEqual([])
    const second = group.run(insert('second'))
    await Promise.all([first, second])
    firstDone()
    secondDone()
    expect(group.groups).toBe(1)
    expect(committed()).toEqual(['first', 'second'])
  })

  it('commits without a caller that gave up on its way, and without one that never comes after the wait', async () => {
    const quick = new GroupCommit(db, { maxWaitMs: 60_000 })
    const arrived = quick.arriving()
    const gaveUp = quick.arriving()
    const held = quick.run(insert('a'))
    gaveUp()
    await held
    arrived()
    expect(committed()).toEqual(['a'])

    const bounded = new GroupCommit(db, { maxWaitMs: 20 })
    bounded.arriving()
    bounded.arriving()
    await bounded.run(insert('b'))
    expect(committed()).toEqual(['a', 'b'])
  })

  it('commits relaxed only when every work of the group allows it', async () => {
    const group = new GroupCommit(db)
    const level = () => db.pragma('synchronous', { simple: true })
    expect(
      await Promise.all([group.run(level, { durable: false }), group.run(level, { durable: false })])
    ).toEqual([1, 1])
    expect(await Promise.all([group.run(level, { durable: false }), group.run(level)])).toEqual([2, 2])
    expect(level()).toBe(2)
  })
})
