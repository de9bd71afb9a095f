import { createHash, randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { P2pEvents, P2pHooks } from '../../node/p2p/index.ts'
import { type Db, openDatabase } from '../../node/store/database.ts'
import { createIdempotencyStore } from '../../node/store/idempotency-keys.ts'
import { startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

/**
 * Acceptances through `P2pService.queueShare` on real nodes (SQLite files, libp2p on 127.0.0.1):
 * those of one turn of the event loop share one transaction and one commit, each share in a
 * savepoint of its own, and each caller hears of its share only once it is committed.
 */

const dataHash = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

/** Frames in a WAL file: every commit appends at least one, whoever counts them. */
function walFrames(db: Db, path: string): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const size = statSync(`${path}-wal`).size
  return size === 0 ? 0 : (size - 32) / (24 + pageSize)
}

describe('grouped acceptance of shares', () => {
  const dirs = [tempDir('group-a'), tempDir('group-b')]
  let a: TestNode
  let b: TestNode
  /** A second connection to A's database: it sees only what was committed. */
  let reader: Db
  const path = () => join(a.dir, 'node.db')

  beforeAll(async () => {
    // The audit hook as the audit trail writes it: an outbox row inside the share's transaction.
    const hooks: P2pHooks = {
      onShareQueued: (db, share) => {
        const at = new Date().toISOString()
        db.prepare(
          'INSERT INTO outbox (kind, share_id, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'
        ).run('share', share.shareId, '{}', at, at)
      }
    }
    ;[a, b] = await Promise.all([startNode(dirs[0]!.path, { hooks }), startNode(dirs[1]!.path)])
    await a.p2p.connect(b.p2p.multiaddrs[0]!)
    reader = openDatabase(path(), { readonly: true })
  })

  afterAll(async () => {
    reader?.close()
    await Promise.all([a, b].map((n) => n?.stop()))
    for (const dir of dirs) dir.remove()
  })

  const committed = (sql: string, ...params: string[]) =>
    (reader.prepare(sql).get(...params) as { n: number }).n

  it('commits concurrent shares in fewer transactions than shares, answers each with its own, delivers all', async () => {
    const n = 120
    const payloads = Array.from({ length: n }, () => new Uint8Array(randomBytes(16)))
    const before = a.p2p.acceptanceStats()
    const framesBefore = walFrames(a.db, path())
    const queued = await Promise.all(
      payloads.map((data) => a.p2p.queueShare({ data, recipient: b.p2p.peerId }))
    )
    // Read before anything else runs: the deliveries the commit woke have not started yet.
    const frames = walFrames(a.db, path()) - framesBefore
    const after = a.p2p.acceptanceStats()

    expect(after.committed - before.committed).toBe(n)
    expect(after.commits - before.commits).toBeLessThan(n)
    // SQLite's own count: a commit per share would have left at least one WAL frame per share.
    expect(frames).toBeLessThan(n)
    expect(new Set(queued.map((q) => q.shareId)).size).toBe(n)
    queued.forEach((q, i) => {
      expect(q.dataHash).toBe(dataHash(payloads[i]!))
      expect(q.share.state).toBe('queued')
      expect(
        committed(
          'SELECT count(*) AS n FROM shares WHERE share_id = ? AND data_hash = ?',
          q.shareId,
          q.dataHash
        )
      ).toBe(1)
      expect(
        committed("SELECT count(*) AS n FROM outbox WHERE share_id = ? AND kind = 'share'", q.shareId)
      ).toBe(1)
    })
    // The delivery worker was woken by the commit: every share reaches B with its receipt.
    await waitFor('every grouped share delivered', () => {
      const placeholders = queued.map(() => '?').join(',')
      const delivered = (
        a.db
          .prepare(
            `SELECT count(*) AS n FROM shares WHERE state = 'delivered' AND share_id IN (${placeholders})`
          )
          .get(...queued.map((q) => q.shareId)) as { n: number }
      ).n
      return delivered === n
    })
  })

  it('rolls back a share whose write fails alone, with what it wrote beside it; the others of its group commit', async () => {
    const keys = createIdempotencyStore(a.db)
    const answer = {
      status: 201,
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array([123, 125])
    }
    const payloads = Array.from({ length: 5 }, () => new Uint8Array(randomBytes(64)))
    const refused = new Error('refused inside the share transaction')
    const before = a.p2p.acceptanceStats()
    const events: string[] = []
    const onQueued = ({ share }: P2pEvents['share:queued'][0]) => void events.push(share.dataHash)
    a.p2p.on('share:queued', onQueued)
    const outcomes = await Promise.allSettled(
      payloads.map((data, i) =>
        a.p2p.queueShare({
          data,
          recipient: b.p2p.peerId,
          // Each share keeps a row beside it in its own transaction; the third is refused after writing its row.
          alsoInTransaction: (share) => {
            keys.keep('test', `key ${i}`, { fingerprint: share.shareId, answer }, Date.now())
            if (i === 2) throw refused
          }
        })
      )
    )
    a.p2p.off('share:queued', onQueued)

    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled'
    ])
    expect((outcomes[2] as PromiseRejectedResult).reason).toBe(refused)
    expect(a.p2p.acceptanceStats().commits - before.commits).toBe(1)
    payloads.forEach((data, i) => {
      const expected = i === 2 ? 0 : 1
      expect(committed('SELECT count(*) AS n FROM shares WHERE data_hash = ?', dataHash(data))).toBe(expected)
      expect(committed('SELECT count(*) AS n FROM records WHERE data_hash = ?', dataHash(data))).toBe(
        expected
      )
      expect(
        committed("SELECT count(*) AS n FROM idempotency_keys WHERE scope = 'test' AND key = ?", `key ${i}`)
      ).toBe(expected)
    })
    const kept = keys.find('test', 'key 0', 0)
    expect(kept?.fingerprint).toBe((outcomes[0] as PromiseFulfilledResult<{ shareId: string }>).value.shareId)
    // share:queued for the committed shares only.
    expect(events.sort()).toEqual([0, 1, 3, 4].map((i) => dataHash(payloads[i]!)).sort())
  })

  it('emits share:queued once the share is committed, and refuses a bad request before anything joins a group', async () => {
    const data = new Uint8Array(randomBytes(32))
    const seenCommitted = new Promise<number>((resolve) => {
      const onQueued = ({ share }: P2pEvents['share:queued'][0]) => {
        if (share.dataHash !== dataHash(data)) return
        a.p2p.off('share:queued', onQueued)
        resolve(committed('SELECT count(*) AS n FROM shares WHERE share_id = ?', share.shareId))
      }
      a.p2p.on('share:queued', onQueued)
    })
    await a.p2p.queueShare({ data, recipient: b.p2p.peerId })
    expect(await seenCommitted).toBe(1)

    const before = a.p2p.acceptanceStats()
    const rows = committed('SELECT count(*) AS n FROM shares')
    await expect(a.p2p.queueShare({ data, recipient: 'nobody' })).rejects.toMatchObject({
      name: 'UnknownRecipientError'
    })
    await expect(a.p2p.queueShare({ data, recipient: a.p2p.peerId })).rejects.toMatchObject({
      name: 'InvalidShareRequestError'
    })
    // Nothing was queued for a group: no commit, no row.
    await new Promise((resolve) => setImmediate(resolve))
    expect(a.p2p.acceptanceStats()).toEqual(before)
    expect(committed('SELECT count(*) AS n FROM shares')).toBe(rows)
  })
})
