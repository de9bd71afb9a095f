import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { P2pEvents, P2pHooks } from '../../node/p2p/index.ts'
import type { Db } from '../../node/store/database.ts'
import { nextEvent, startNode, type TestNode, tempDir } from './helpers.ts'

/** A hook as the audit trail writes it: one outbox row, inside the caller's transaction. */
function outboxRow(db: Db, kind: string, shareId: string): void {
  const at = new Date().toISOString()
  db.prepare(
    'INSERT INTO outbox (kind, share_id, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'
  ).run(kind, shareId, '{}', at, at)
}

describe('transaction hooks', () => {
  const dirs = [tempDir('hook-a'), tempDir('hook-b')]
  let a: TestNode
  let b: TestNode
  let failQueue = false

  beforeAll(async () => {
    const hooks: P2pHooks = {
      onShareQueued: (db, share) => {
        outboxRow(db, 'share', share.shareId)
        if (failQueue) throw new Error('outbox unavailable')
      },
      onReceiptStored: (db, share, receipt) => {
        outboxRow(db, 'receipt', receipt.body.shareId === share.shareId ? share.shareId : 'mismatch')
      }
    }
    ;[a, b] = await Promise.all([startNode(dirs[0]!.path, { hooks }), startNode(dirs[1]!.path)])
    await a.p2p.connect(b.p2p.multiaddrs[0]!)
  })

  afterAll(async () => {
    await Promise.all([a, b].map((n) => n?.stop()))
    for (const dir of dirs) dir.remove()
  })

  it('writes the audit rows in the same transactions as the share and its receipt', async () => {
    const delivered = nextEvent<P2pEvents['share:delivered'][0]>(a.p2p, 'share:delivered')
    const { shareId } = a.p2p.shareData({ data: new Uint8Array([4, 2]), recipient: b.p2p.peerId })
    await delivered
    const kinds = a.db
      .prepare<[string], { kind: string }>('SELECT kind FROM outbox WHERE share_id = ? ORDER BY id')
      .all(shareId)
      .map((r) => r.kind)
    expect(kinds).toEqual(['share', 'receipt'])
  })

  it('queues nothing when the hook fails: no record, no share, no outbox row', () => {
    failQueue = true
    const count = (table: string) =>
      (a.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
    const before = [count('records'), count('shares'), count('outbox')]
    expect(() => a.p2p.shareData({ data: new Uint8Array([7, 7, 7]), recipient: b.p2p.peerId })).toThrow(
      'outbox unavailable'
    )
    expect([count('records'), count('shares'), count('outbox')]).toEqual(before)
    failQueue = false
  })
})
