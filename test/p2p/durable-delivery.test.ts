import { createServer } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import type { P2pEvents } from '../../node/p2p/index.ts'
import { nextEvent, startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

type AttemptFailed = P2pEvents['share:attempt-failed'][0]

/** A free TCP port on 127.0.0.1, so a restarted node comes back where its peers remember it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

describe('durable delivery', () => {
  const dirs = { a: tempDir('sender'), b: tempDir('recipient') }
  const running: TestNode[] = []
  afterAll(async () => {
    await Promise.all(running.map((n) => n.stop().catch(() => {})))
    for (const d of Object.values(dirs)) d.remove()
  })

  it('queues a share for an offline peer, survives a sender restart, and delivers it exactly once when the peer returns', async () => {
    const port = await freePort()
    let a = await startNode(dirs.a.path)
    let b = await startNode(dirs.b.path, { port })
    running.push(a, b)
    // First contact: A pins B's certificate and records its address, then B goes away.
    await a.p2p.connect(b.p2p.multiaddrs[0]!)
    await waitFor('A to verify B', () => a.p2p.peers().find((p) => p.peerId === b.p2p.peerId)?.certificatePem)
    const recipient = b.p2p.peerId
    await b.stop()
    running.splice(running.indexOf(b), 1)

    const failed = nextEvent<AttemptFailed>(a.p2p, 'share:attempt-failed')
    const data = new TextEncoder().encode('must arrive once, even across restarts')
    const { shareId } = a.p2p.shareData({ data, recipient, tier: 'standard' })
    expect(a.p2p.getShare(shareId).state).toBe('queued')
    expect((await failed).final).toBe(false)
    const waiting = a.p2p.getShare(shareId)
    expect(waiting).toMatchObject({ state: 'queued' })
    expect(waiting.lastError).not.toBeNull()
    expect(waiting.attempts).toBeGreaterThanOrEqual(1)
    // It is the one outgoing share waiting.
    expect(a.p2p.stats().shares['out:queued']).toBe(1)

    // The sender restarts with the share still undelivered.
    await a.stop()
    running.splice(running.indexOf(a), 1)
    a = await startNode(dirs.a.path)
    running.push(a)
    expect(a.p2p.getShare(shareId).state).toBe('queued')

    // The recipient comes back on its old address; A's worker finds it from the persisted peer book.
    // The receive hook runs inside the transaction that stores a share: it counts effects, not attempts.
    let arrivals = 0
    b = await startNode(dirs.b.path, {
      port,
      hooks: {
        onShareReceived: (_db, share) => {
          if (share.shareId === shareId) arrivals += 1
        }
      }
    })
    running.push(b)
    await waitFor('delivery', () => a.p2p.getShare(shareId).state === 'delivered', 60_000)

    const inbound = b.db
      .prepare<[string], { n: number }>(
        "SELECT count(*) AS n FROM shares WHERE share_id = ? AND direction = 'in'"
      )
      .get(shareId)
    expect(inbound?.n).toBe(1)
    expect((await b.p2p.getRecord(a.p2p.getShare(shareId).dataHash)).data).toEqual(data)
    expect(arrivals).toBe(1)
    // Delivered once: both ends hold the same receipt.
    expect(a.p2p.getShare(shareId).state).toBe('delivered')
    expect(b.p2p.getShare(shareId).receipt).toEqual(a.p2p.getShare(shareId).receipt)
  })
})
