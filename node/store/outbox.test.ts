import { afterEach, describe, expect, it } from 'vitest'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const leaf = (n: number) => n.toString(16).padStart(64, '0')

function queue(kind: 'share' | 'receipt', shareId: string, n: number) {
  return t.repos.outbox.enqueue({
    kind,
    shareId,
    dataHash: leaf(n + 100),
    payload: `{"n":${n}}`,
    leaf: leaf(n)
  })
}

describe('outbox repository', () => {
  it('queues one event of each kind per share, and the node registration on its own', () => {
    t = auditTestDb()
    const s = t.share()
    expect(queue('share', s, 1)).toBeTypeOf('number')
    expect(queue('share', s, 2)).toBeNull()
    expect(queue('receipt', s, 3)).toBeTypeOf('number')
    expect(t.repos.outbox.lastNodeRegistration()).toBeUndefined()
    t.repos.outbox.enqueue({ kind: 'node', shareId: null, dataHash: null, payload: '{"n":4}', leaf: null })
    t.repos.outbox.enqueue({ kind: 'node', shareId: null, dataHash: null, payload: '{"n":5}', leaf: null })
    expect(t.repos.outbox.lastNodeRegistration()).toBe('{"n":5}')
    expect(t.repos.outbox.payloadOf('share', s)).toBe('{"n":1}')
    expect(t.repos.outbox.payloadOf('receipt', s)).toBe('{"n":3}')
  })

  it('lists newest first, by state, and pages below an id', () => {
    t = auditTestDb()
    const ids = [1, 2, 3].map((n) => queue('share', t.share(), n) as number)
    t.repos.outbox.markFailed(ids[1] as number, 'AuditTrailUnknownNode')
    expect(t.repos.outbox.list({ limit: 10 }).map((e) => e.id)).toEqual([...ids].reverse())
    expect(t.repos.outbox.list({ limit: 10, state: 'failed' })).toMatchObject([
      { id: ids[1], state: 'failed', lastError: 'AuditTrailUnknownNode' }
    ])
    expect(t.repos.outbox.list({ limit: 1, afterId: ids[2] as number }).map((e) => e.id)).toEqual([ids[1]])
  })

  it('hands out node registrations before leaves, and leaves oldest first', () => {
    t = auditTestDb()
    const first = queue('share', t.share(), 1) as number
    queue('share', t.share(), 2)
    const node = t.repos.outbox.enqueue({
      kind: 'node',
      shareId: null,
      dataHash: null,
      payload: '{}',
      leaf: null
    })
    expect(t.repos.outbox.nextNodeRegistration()?.id).toBe(node)
    expect(t.repos.outbox.nextPendingLeaf()).toMatchObject({ id: first, kind: 'share', payload: '{"n":1}' })
    t.repos.outbox.markSent(first, '0xabc', 7)
    expect(t.repos.outbox.nextPendingLeaf()?.id).not.toBe(first)
    expect(t.repos.outbox.pendingLeaves().count).toBe(1)
  })

  it('counts what waits for the chain and dates the oldest unconfirmed row', () => {
    t = auditTestDb()
    expect(t.repos.outbox.depth()).toEqual({ pending: 0, sent: 0, failed: 0, oldestPendingAt: null })
    const a = queue('share', t.share(), 1) as number
    const b = queue('share', t.share(), 2) as number
    queue('share', t.share(), 3)
    t.repos.outbox.markSent(a, '0xa', 0)
    t.repos.outbox.markFailed(b, 'refused')
    const depth = t.repos.outbox.depth()
    expect(depth).toMatchObject({ pending: 1, sent: 1, failed: 1 })
    expect(depth.oldestPendingAt).toBe(t.repos.outbox.list({ limit: 10 }).at(-1)?.createdAt)
  })

  it('retries only a failed row, and a failed batch as a whole', () => {
    t = auditTestDb()
    const single = queue('share', t.share(), 1) as number
    expect(t.repos.outbox.retryFailed(single)).toBe('not-failed')
    expect(t.repos.outbox.retryFailed(999)).toBe('missing')
    t.repos.outbox.markFailed(single, 'refused')
    expect(t.repos.outbox.retryFailed(single)).toBe('requeued')
    expect(t.repos.outbox.list({ limit: 1 })[0]).toMatchObject({ state: 'pending', lastError: null })

    const [x, y] = [2, 3].map((n) => queue('receipt', t.share(), n) as number)
    t.repos.outbox.markSent(single, '0xs', 0) // not a leaf to batch any more
    const batch = t.repos.batches.form(10, () => leaf(9)) as number
    t.repos.batches.markFailed(batch, 'AuditTrailSequenceMismatch')
    expect(t.repos.outbox.retryFailed(x as number)).toBe('requeued')
    expect(t.repos.batches.nextPending()?.id).toBe(batch)
    const states = t.repos.outbox.list({ limit: 10 }).filter((e) => e.id === x || e.id === y)
    expect(states.map((e) => [e.state, e.lastError])).toEqual([
      ['pending', null],
      ['pending', null]
    ])
  })

  it('requeues sent rows whose transaction is no longer in flight, and keeps those that are', () => {
    t = auditTestDb()
    const inFlight = queue('share', t.share(), 1) as number
    const orphan = queue('share', t.share(), 2) as number
    t.repos.chainTxs.record({ job: `outbox:${inFlight}`, nonce: 0, txHash: '0xlive', raw: '0x', sentMs: 1 })
    t.repos.outbox.markSent(inFlight, '0xlive', 0)
    t.repos.outbox.markSent(orphan, '0xgone', 1)
    expect(t.repos.outbox.requeueOrphaned()).toBe(1)
    const byId = new Map(t.repos.outbox.list({ limit: 10 }).map((e) => [e.id, e.state]))
    expect([byId.get(inFlight), byId.get(orphan)]).toEqual(['sent', 'pending'])
    expect(t.repos.outbox.requeueAllSent()).toBe(1)
  })

  it('writes inside a transaction opened on the same connection and rolls back with it', () => {
    t = auditTestDb()
    const s = t.share()
    expect(() =>
      t.db.transaction(() => {
        queue('share', s, 1)
        throw new Error('share not stored')
      })()
    ).toThrow('share not stored')
    expect(t.repos.outbox.list({ limit: 10 })).toEqual([])
  })

  it('queues confirmed events again after a chain reset, marked with the reset and its reason', () => {
    t = auditTestDb()
    const { outbox } = t.repos
    const confirmed = queue('share', t.share(), 1) as number
    const sent = queue('share', t.share(), 2) as number
    const failed = queue('share', t.share(), 3) as number
    outbox.markSent(confirmed, '0xa', 0)
    outbox.markConfirmed(confirmed, '0xa', 5)
    outbox.markSent(sent, '0xb', 1)
    outbox.markFailed(failed, 'AuditTrailUnknownNode')
    expect(outbox.requeueLostConfirmed('chain_reset: genesis changed')).toBe(1)
    const byId = new Map(outbox.list({ limit: 10 }).map((e) => [e.id, e]))
    expect(byId.get(confirmed)).toMatchObject({
      state: 'pending',
      txHash: null,
      blockNumber: null,
      lastError: 'chain_reset: genesis changed',
      chainResetAt: expect.stringMatching(/^\d{4}-/)
    })
    expect(byId.get(sent)).toMatchObject({ state: 'sent', chainResetAt: null })
    expect(byId.get(failed)).toMatchObject({ state: 'failed', chainResetAt: null })
    // Confirmed again on the new chain, the mark of the reset stays.
    outbox.markConfirmed(confirmed, '0xc', 2)
    expect(outbox.list({ limit: 1, afterId: confirmed + 1 })[0]).toMatchObject({
      state: 'confirmed',
      lastError: null,
      chainResetAt: expect.stringMatching(/^\d{4}-/)
    })
  })
})
