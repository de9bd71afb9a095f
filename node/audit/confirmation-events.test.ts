import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type AuditTestDb, auditTestDb } from '../store/test-support/audit-db.ts'
import { batchJob, formBatch, logHeadJob, outboxJob } from './jobs.ts'
import { SecurityLog } from './security-log.ts'

let t: AuditTestDb
beforeEach(() => {
  t = auditTestDb()
})
afterEach(() => t.remove())

function enqueue(kind: 'share' | 'receipt' | 'node', shareId: string | null, n: number): number {
  const id = t.repos.outbox.enqueue({
    kind,
    shareId,
    dataHash: shareId === null ? null : `${n}`.padStart(64, '0'),
    payload: '{}',
    leaf: kind === 'node' ? null : `${n}`.padStart(64, 'a')
  })
  return id as number
}
const stateOf = (id: number) =>
  t.db.prepare('SELECT state, tx_hash FROM outbox WHERE id = ?').get(id) as { state: string; tx_hash: string }

describe('confirmations a job reports', () => {
  it('an outbox entry reports itself, once confirmed, and leaves the other entries alone', () => {
    const registration = enqueue('node', null, 0)
    const shareId = t.share()
    const share = enqueue('share', shareId, 1)
    const row = t.repos.outbox.jobRow(share)!
    expect(outboxJob(t.repos, row).confirm('0xaa', 7)).toEqual([
      { kind: 'share', shareId, dataHash: `${1}`.padStart(64, '0'), txHash: '0xaa' }
    ])
    expect(stateOf(share)).toEqual({ state: 'confirmed', tx_hash: '0xaa' })
    expect(stateOf(registration).state).toBe('pending')

    // A retried entry (failed, then put back by an operator) reports when it is confirmed at last.
    t.repos.outbox.markFailed(registration, 'refused')
    expect(t.repos.outbox.retryFailed(registration)).toBe('requeued')
    const node = t.repos.outbox.jobRow(registration)!
    expect(outboxJob(t.repos, node).confirm('0xbb', 8)).toEqual([
      { kind: 'node', shareId: null, dataHash: null, txHash: '0xbb' }
    ])
  })

  it('a batch reports every entry it carries, in leaf order, with the batch transaction', () => {
    const a = t.share()
    const b = t.share()
    enqueue('share', a, 1)
    enqueue('receipt', a, 2)
    enqueue('share', b, 3)
    const id = formBatch(t.repos, 10) as number
    const batch = t.repos.batches.get(id)!
    const reported = batchJob(t.repos, batch).confirm('0xcc', 9)
    expect(reported.map((e) => [e.kind, e.shareId, e.txHash])).toEqual([
      ['share', a, '0xcc'],
      ['receipt', a, '0xcc'],
      ['share', b, '0xcc']
    ])
  })

  it('a security-log head reports no outbox entry', () => {
    new SecurityLog(t.repos.securityLog).append('auth.failure', { ip: '10.0.0.1' })
    const anchor = t.repos.securityLog.recordHeadAnchor()!
    expect(logHeadJob(t.repos, anchor).confirm('0xdd', 10)).toEqual([])
    expect(t.repos.securityLog.confirmedAnchors()).toHaveLength(1)
  })
})
