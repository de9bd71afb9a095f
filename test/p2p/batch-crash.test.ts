import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../node/audit/embedded-chain.ts'
import { openDatabase } from '../../node/store/database.ts'
import { startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

/** kill -9 of a batch's sender or recipient in the middle of the batch: nothing lost, nothing twice. */

const CHILD = fileURLToPath(new URL('./fixtures/batch-node.ts', import.meta.url))
const COUNT = 12

/** Starts the fixture node; resolves with its lines as they come and its exit. */
function spawnNode(args: string[]) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', CHILD, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  const next = async () => {
    const { value, done } = await lines.next()
    if (done) throw new Error('the node process ended before answering')
    return JSON.parse(value as string) as Record<string, unknown>
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  return { child, next, exited }
}

/** Each share id with how many rows of it a node holds in `direction`. */
function rowsOf(dir: string, direction: 'in' | 'out'): Map<string, { n: number; state: string }> {
  const db = openDatabase(join(dir, 'node.db'))
  try {
    const rows = db
      .prepare<[string], { share_id: string; n: number; state: string }>(
        'SELECT share_id, count(*) AS n, max(state) AS state FROM shares WHERE direction = ? GROUP BY share_id'
      )
      .all(direction)
    return new Map(rows.map((r) => [r.share_id, { n: r.n, state: r.state }]))
  } finally {
    db.close()
  }
}

describe('batched delivery across kill -9', () => {
  const running: TestNode[] = []
  const dirs: { path: string; remove(): void }[] = []
  const children: ChildProcess[] = []
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    await Promise.all(running.map((n) => n.stop().catch(() => {})))
    for (const d of dirs) d.remove()
  })

  it('a sender killed while it stores a batch of receipts resends it, and the recipient stores each share once', async () => {
    const da = tempDir('batch-crash-sender')
    const db = tempDir('batch-crash-recipient')
    dirs.push(da, db)
    const b = await startNode(db.path)
    running.push(b)
    const sender = spawnNode([
      '--dir',
      da.path,
      '--to',
      b.p2p.multiaddrs[0] as string,
      '--count',
      String(COUNT),
      '--kill-on',
      'delivered'
    ])
    children.push(sender.child)
    await sender.next()
    const { ids } = (await sender.next()) as { ids: string[] }
    const [, signal] = await sender.exited
    expect(signal).toBe('SIGKILL')
    // Killed inside the transaction that marks the batch delivered: none of it is.
    const before = rowsOf(da.path, 'out')
    expect([...before.values()].every((r) => r.state !== 'delivered')).toBe(true)
    expect(before.size).toBe(COUNT)

    const a = await startNode(da.path, { batchMax: 64, batchWindowMs: 50 })
    running.push(a)
    await waitFor('every share delivered after the restart', () =>
      ids.every((id) => a.p2p.getShare(id).state === 'delivered')
    )
    const inbound = rowsOf(db.path, 'in')
    expect([...inbound.keys()].sort()).toEqual([...ids].sort())
    expect([...inbound.values()].every((r) => r.n === 1)).toBe(true)
    // The resent batch got the receipts the recipient had stored, not new ones.
    for (const id of ids) {
      expect(a.p2p.getShare(id).receipt).toEqual(b.p2p.getShare(id).receipt)
      expect(a.p2p.getShare(id).receipt?.batch).toBeDefined()
    }
  })

  it('a recipient killed while it stores a batch has stored none of it, and gets each share once after its restart', async () => {
    const da = tempDir('batch-crash-sender2')
    const db = tempDir('batch-crash-recipient2')
    dirs.push(da, db)
    const port = await freePort()
    const recipient = spawnNode([
      '--dir',
      db.path,
      '--port',
      String(port),
      '--kill-on',
      'received',
      '--kill-at',
      '3'
    ])
    children.push(recipient.child)
    const hello = (await recipient.next()) as { address: string }
    const a = await startNode(da.path, { batchMax: 64, batchWindowMs: 50 })
    running.push(a)
    const peer = await a.p2p.connect(hello.address)
    await waitFor('A to verify B', () =>
      a.p2p.peers().some((p) => p.peerId === peer && p.trust !== 'unknown')
    )
    const ids = Array.from(
      { length: COUNT },
      (_, i) =>
        a.p2p.shareData({ data: new TextEncoder().encode(`to a crashing recipient ${i}`), recipient: peer })
          .shareId
    )
    const [, signal] = await recipient.exited
    expect(signal).toBe('SIGKILL')
    // Killed in the middle of the batch's one transaction: nothing of the batch was stored.
    expect(rowsOf(db.path, 'in').size).toBe(0)

    const b = await startNode(db.path, { port })
    running.push(b)
    await waitFor('every share delivered after the restart', () =>
      ids.every((id) => a.p2p.getShare(id).state === 'delivered')
    )
    const inbound = rowsOf(db.path, 'in')
    expect([...inbound.keys()].sort()).toEqual([...ids].sort())
    expect([...inbound.values()].every((r) => r.n === 1)).toBe(true)
    for (const id of ids) expect(a.p2p.getShare(id).receipt).toEqual(b.p2p.getShare(id).receipt)
  })
})
