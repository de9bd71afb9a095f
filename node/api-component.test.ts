import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { watchConfirmations } from './api-component.ts'
import { AuditProgressRepository } from './store/audit-progress.ts'
import { type Db, openDatabase } from './store/database.ts'
import { migrate } from './store/migrations.ts'

let dir: string
let db: Db

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-confirm-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const t = '2026-11-23T00:00:00.000Z'
function add(state: string, shareId: string | null = null): number {
  return Number(
    db
      .prepare(
        `INSERT INTO outbox (kind, share_id, payload, state, created_at, updated_at) VALUES ('node', ?, '{}', ?, ?, ?)`
      )
      .run(shareId, state, t, t).lastInsertRowid
  )
}
const set = (id: number, state: string, tx: string | null = null) =>
  db.prepare('UPDATE outbox SET state = ?, tx_hash = ? WHERE id = ?').run(state, tx, id)

describe('watchConfirmations', () => {
  it('announces each entry once when it is confirmed, never those confirmed before it started', () => {
    const old = add('confirmed')
    const inFlight = add('sent')
    const failed = add('failed')
    const seen: unknown[] = []
    const tick = watchConfirmations(new AuditProgressRepository(db), (row) => seen.push(row))
    tick()
    expect(seen).toEqual([])

    set(inFlight, 'confirmed', '0xaa')
    const later = add('pending')
    tick()
    expect(seen).toEqual([{ kind: 'node', share_id: null, data_hash: null, tx_hash: '0xaa' }])

    // A failed entry retried by an operator is still followed.
    set(failed, 'pending')
    tick()
    set(failed, 'confirmed', '0xbb')
    set(later, 'confirmed', '0xcc')
    tick()
    tick()
    expect(seen.map((r) => (r as { tx_hash: string }).tx_hash)).toEqual(['0xaa', '0xbb', '0xcc'])
    expect(old).toBeLessThan(inFlight)
  })

  it('announces an entry that is added and confirmed between two ticks', () => {
    const seen: unknown[] = []
    const tick = watchConfirmations(new AuditProgressRepository(db), (row) => seen.push(row))
    const id = add('pending')
    set(id, 'confirmed', '0xdd')
    tick()
    expect(seen).toHaveLength(1)
  })
})
