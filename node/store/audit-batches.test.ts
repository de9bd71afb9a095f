import { afterEach, describe, expect, it } from 'vitest'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const hex = (n: number) => n.toString(16).padStart(64, '0')

/** Queues a share event with leaf `hex(n)` for a fresh share; returns its outbox id. */
function leafRow(n: number, dataHash = hex(1000 + n)): number {
  return t.repos.outbox.enqueue({
    kind: 'share',
    shareId: t.share(),
    dataHash,
    payload: `{"n":${n}}`,
    leaf: hex(n)
  }) as number
}

describe('audit batch repository', () => {
  it('forms a batch of the oldest pending leaves, in outbox order, under the root it is given', () => {
    t = auditTestDb()
    const ids = [1, 2, 3].map((n) => leafRow(n))
    t.repos.outbox.enqueue({ kind: 'node', shareId: null, dataHash: null, payload: '{}', leaf: null })
    let seen: readonly string[] = []
    const id = t.repos.batches.form(2, (leaves) => {
      seen = leaves
      return hex(77)
    })
    expect(seen).toEqual([hex(1), hex(2)])
    expect(t.repos.batches.get(id as number)).toEqual({ id, root: hex(77), count: 2, firstSequence: null })
    expect(t.repos.batches.leavesOfBatch(id as number)).toEqual([
      { leafIndex: 0, leaf: hex(1) },
      { leafIndex: 1, leaf: hex(2) }
    ])
    expect(t.repos.outbox.nextPendingLeaf()?.id).toBe(ids[2])
    expect(t.repos.batches.form(10, () => hex(78))).toBeTypeOf('number')
    expect(t.repos.batches.form(10, () => hex(79))).toBeNull()
  })

  it('forms nothing when computing the root fails: no batch, no row moved', () => {
    t = auditTestDb()
    leafRow(1)
    expect(() =>
      t.repos.batches.form(5, () => {
        throw new Error('bad leaf')
      })
    ).toThrow('bad leaf')
    expect(t.repos.batches.nextPending()).toBeUndefined()
    expect(t.repos.outbox.pendingLeaves().count).toBe(1)
  })

  it('moves a batch and its rows through sent and confirmed together', () => {
    t = auditTestDb()
    leafRow(1)
    leafRow(2)
    const id = t.repos.batches.form(5, () => hex(9)) as number
    t.repos.batches.setFirstSequence(id, 4)
    t.repos.batches.markSent(id, '0xb')
    expect(t.repos.outbox.list({ limit: 5 }).map((e) => [e.state, e.txHash])).toEqual([
      ['sent', '0xb'],
      ['sent', '0xb']
    ])
    expect(t.repos.batches.nextPending()).toBeUndefined()
    t.repos.batches.markConfirmed(id, '0xb', 12)
    expect(t.repos.outbox.list({ limit: 5 }).map((e) => [e.state, e.blockNumber])).toEqual([
      ['confirmed', 12],
      ['confirmed', 12]
    ])
    expect(t.repos.batches.get(id)?.firstSequence).toBe(4)
  })

  it('finds the leaves of a data hash only in confirmed batches, and the leaves of a root', () => {
    t = auditTestDb()
    const mine = hex(500)
    leafRow(1)
    const row = leafRow(2, mine)
    const id = t.repos.batches.form(5, () => hex(9)) as number
    expect(t.repos.batches.confirmedLeavesOf(mine)).toEqual([])
    t.repos.batches.markConfirmed(id, '0xb', 3)
    expect(t.repos.batches.confirmedLeavesOf(mine)).toMatchObject([
      { outboxId: row, kind: 'share', payload: '{"n":2}', leafIndex: 1, batchId: id, root: hex(9) }
    ])
    expect(t.repos.batches.leavesOfRoot(hex(9)).map((l) => [l.leafIndex, l.leaf, l.dataHash])).toEqual([
      [0, hex(1), hex(1001)],
      [1, hex(2), mine]
    ])
    expect(t.repos.batches.leavesOfRoot(hex(10))).toEqual([])
  })

  it('requeues a sent batch without a transaction in flight; restarting forgets its sequence', () => {
    t = auditTestDb()
    leafRow(1)
    const id = t.repos.batches.form(5, () => hex(9)) as number
    t.repos.batches.setFirstSequence(id, 2)
    t.repos.batches.markSent(id, '0xgone')
    expect(t.repos.batches.requeueOrphaned()).toBe(1)
    expect(t.repos.outbox.requeueRowsOfPendingBatches()).toBe(1)
    expect(t.repos.batches.nextPending()).toMatchObject({ id, firstSequence: 2 })
    expect(t.repos.batches.restartUnconfirmed()).toBe(1)
    expect(t.repos.batches.get(id)?.firstSequence).toBeNull()
  })
})
