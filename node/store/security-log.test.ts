import { afterEach, describe, expect, it } from 'vitest'
import type { SecurityLogRow } from './security-log.ts'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const hex = (n: number) => n.toString(16).padStart(64, '0')
/** A row after `head`, hashed by a stand-in (the audit trail computes the real hash). */
const after = (head: { seq: number; hash: string } | undefined, kind = 'auth.success'): SecurityLogRow => {
  const seq = (head?.seq ?? 0) + 1
  return { seq, at: `t${seq}`, kind, detail: '{}', prev_hash: head?.hash ?? hex(0), hash: hex(seq) }
}

describe('security log repository', () => {
  it('appends each row after the head it is built from, and reads rows back in order', () => {
    t = auditTestDb()
    const log = t.repos.securityLog
    const heads: unknown[] = []
    for (const kind of ['auth.success', 'auth.failure', 'auth.failure']) {
      log.append((head) => {
        heads.push(head)
        return after(head, kind)
      })
    }
    expect(heads).toEqual([undefined, { seq: 1, hash: hex(1) }, { seq: 2, hash: hex(2) }])
    expect([...log.rows()].map((r) => [r.seq, r.prev_hash])).toEqual([
      [1, hex(0)],
      [2, hex(1)],
      [3, hex(2)]
    ])
    expect(log.list({ afterSeq: 1, kind: 'auth.failure', limit: 1 }).map((r) => r.seq)).toEqual([2])
    expect(log.list({ afterSeq: 0, limit: 10 })).toHaveLength(3)
    expect(log.hashAt(2)).toBe(hex(2))
    expect(log.hashAt(9)).toBeUndefined()
  })

  it('writes nothing when building the row fails', () => {
    t = auditTestDb()
    expect(() =>
      t.repos.securityLog.append(() => {
        throw new Error('no detail')
      })
    ).toThrow('no detail')
    expect([...t.repos.securityLog.rows()]).toEqual([])
  })

  it('records the head as an anchor only when it moved past the last anchor', () => {
    t = auditTestDb()
    const log = t.repos.securityLog
    expect(log.recordHeadAnchor()).toBeNull()
    log.append(after)
    expect(log.recordHeadAnchor()).toEqual({ seq: 1, head: hex(1) })
    expect(log.recordHeadAnchor()).toBeNull()
    expect(log.nextPendingAnchor()).toEqual({ seq: 1, head: hex(1) })
    log.markAnchorSent(1, '0xa')
    expect(log.nextPendingAnchor()).toBeUndefined()
    log.markAnchorConfirmed(1, '0xa', 8)
    expect(log.confirmedAnchors()).toEqual([{ seq: 1, head: hex(1), txHash: '0xa', blockNumber: 8 }])
    log.append(after)
    expect(log.recordHeadAnchor()).toEqual({ seq: 2, head: hex(2) })
  })

  it('requeues anchors sent without a transaction in flight and drops unconfirmed ones on a chain change', () => {
    t = auditTestDb()
    const log = t.repos.securityLog
    log.append(after)
    log.recordHeadAnchor()
    log.markAnchorSent(1, '0xgone')
    expect(log.requeueOrphanedAnchors()).toBe(1)
    expect(log.anchor(1)).toEqual({ seq: 1, head: hex(1) })
    expect(log.nextPendingAnchor()?.seq).toBe(1)
    log.append(after)
    log.recordHeadAnchor()
    log.markAnchorConfirmed(2, '0xb', 3)
    expect(log.deleteUnconfirmedAnchors()).toBe(1)
    expect(log.anchor(1)).toBeUndefined()
    expect(log.confirmedAnchors().map((a) => a.seq)).toEqual([2])
    log.deleteAnchor(2)
    expect(log.confirmedAnchors()).toEqual([])
  })
})
