import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ClusterNode,
  introduce,
  type LocalCluster,
  startLocalCluster
} from '../../node/cli/commands/demo-cluster.ts'
import { openDatabase } from '../../node/store/database.ts'
import { EventLogRepository } from '../../node/store/event-log.ts'
import { databasePath } from '../../node/store/store-service.ts'

/**
 * The persisted event log over real sockets: two nodes on loopback and a local chain; a reader of
 * A's `/events` leaves, A shares 50 times, and the reader comes back with `Last-Event-ID`.
 */

let cluster: LocalCluster
let a: ClusterNode
let b: ClusterNode
let keyA: string

interface Message {
  readonly id: string | undefined
  readonly event: string
  readonly data: Record<string, unknown>
}

/**
 * Reads SSE messages from `url` until `enough` holds for those read so far (or the deadline);
 * then disconnects. Heartbeat comments are skipped.
 */
async function readEvents(
  url: string,
  enough: (messages: readonly Message[]) => boolean,
  init: { headers?: Record<string, string>; onReady?: () => Promise<void>; timeoutMs?: number } = {}
): Promise<Message[]> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), init.timeoutMs ?? 60_000)
  const messages: Message[] = []
  try {
    const res = await fetch(url, { headers: init.headers ?? {}, signal: controller.signal })
    expect(res.status).toBe(200)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    while (!enough(messages)) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      const blocks = buffer.split('\n\n')
      buffer = blocks.pop() ?? ''
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)?.[1]
        if (event === undefined) continue
        const message = {
          id: /^id: (.*)$/m.exec(block)?.[1],
          event,
          data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>
        }
        messages.push(message)
        if (event === 'ready') await init.onReady?.()
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err
    throw new Error(`timed out with ${messages.length} messages: ${JSON.stringify(messages.slice(-3))}`)
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return messages
}

const shareIdOf = (m: Message) => (m.data['data'] as Record<string, unknown>)['share_id']

async function share(data: string): Promise<string> {
  const res = await fetch(`${a.externalUrl}/v1/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': keyA },
    body: JSON.stringify({ data, recipient: b.peerId })
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { share: { id: string } }).share.id
}

beforeAll(async () => {
  cluster = await startLocalCluster({
    names: ['a', 'b'],
    logger: pino({ level: 'silent' }),
    rateLimit: { perSecond: 1_000, burst: 1_000 }
  })
  ;[a, b] = cluster.nodes as [ClusterNode, ClusterNode]
  await introduce(a, b)
  const res = await fetch(`${a.internalUrl}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'events', scopes: ['share', 'read'] })
  })
  expect(res.status).toBe(201)
  keyA = ((await res.json()) as { key: string }).key
}, 120_000)

afterAll(async () => {
  const root = cluster?.rootDir
  await cluster?.stop()
  if (root) expect(existsSync(root)).toBe(false)
})

describe('GET /events over the persisted log', { timeout: 180_000 }, () => {
  it('replays after Last-Event-ID every event written while the reader was away, once each and in order', async () => {
    // A first connection sees one share accepted, and leaves with its id.
    let first = ''
    const before = await readEvents(
      `${a.internalUrl}/events?types=share.accepted`,
      (ms) => ms.some((m) => m.event === 'share.accepted' && shareIdOf(m) === first),
      {
        onReady: async () => {
          first = await share('before the gap')
        }
      }
    )
    const lastSeen = Number(before.at(-1)?.id)
    expect(lastSeen).toBeGreaterThan(0)

    const ids = new Set<string>()
    for (let i = 0; i < 50; i++) ids.add(await share(`while away ${i}`))

    // Back with Last-Event-ID and no filter: every event since, until all 50 are delivered.
    const delivered = (ms: readonly Message[]) =>
      ms.filter((m) => m.event === 'share.delivered' && ids.has(shareIdOf(m) as string)).length
    const after = await readEvents(`${a.internalUrl}/events`, (ms) => delivered(ms) === 50, {
      headers: { 'Last-Event-ID': String(lastSeen) }
    })
    expect(after[0]?.event).toBe('ready')
    const events = after.slice(1)
    const logIds = events.map((m) => Number(m.id))
    // The log's ids have no gaps: the stream goes on right after the last id seen, one by one.
    expect(logIds[0]).toBe(lastSeen + 1)
    expect(logIds).toEqual(logIds.map((_, i) => lastSeen + 1 + i))
    for (const m of events) expect(m.data).toMatchObject({ id: Number(m.id), type: m.event })

    const accepted = events.filter((m) => m.event === 'share.accepted')
    expect(accepted).toHaveLength(50)
    expect(new Set(accepted.map(shareIdOf))).toEqual(ids)
    expect(accepted.map((m) => (m.data['data'] as Record<string, unknown>)['recipient'])).toEqual(
      accepted.map(() => b.peerId)
    )
    // Each share's delivery comes after its acceptance.
    for (const id of ids) {
      const at = (type: string) => events.findIndex((m) => m.event === type && shareIdOf(m) === id)
      expect(at('share.accepted')).toBeLessThan(at('share.delivered'))
    }
    // What the stream sent is what the log holds, in the same order.
    const stored = a.node.store.eventLog.after(lastSeen, logIds.length).map((e) => e.id)
    expect(stored).toEqual(logIds)
  })

  it('tells a reader whose cursor the log pruned, then goes on from the oldest event kept', async () => {
    const log = a.node.store.eventLog
    const cursor = log.latestId()
    await share('soon pruned')
    log.pruneBefore(Date.now() + 1)
    const kept = await share('kept')
    const oldest = log.oldestId() as number
    expect(oldest).toBeGreaterThan(cursor + 1)
    const messages = await readEvents(`${a.internalUrl}/events?after=${cursor}&types=share.accepted`, (ms) =>
      ms.some((m) => m.event === 'share.accepted' && shareIdOf(m) === kept)
    )
    expect(messages.map((m) => m.event)).toEqual(['ready', 'expired', 'share.accepted'])
    expect(messages[1]).toEqual({
      id: String(oldest - 1),
      event: 'expired',
      data: { after: cursor, oldest_id: oldest }
    })
    expect(Number(messages[2]?.id)).toBeGreaterThanOrEqual(oldest)
  })

  it('brings a live reader events written by another process, which wakes no listener in the node', async () => {
    const other = openDatabase(databasePath(join(cluster.rootDir, 'a')))
    try {
      const messages = await readEvents(
        `${a.internalUrl}/events?types=test.`,
        (ms) => ms.some((m) => m.event === 'test.from_cli'),
        {
          onReady: async () => {
            new EventLogRepository(other).append('test.from_cli', { written_by: 'another connection' })
          }
        }
      )
      expect(messages.at(-1)?.data).toMatchObject({ data: { written_by: 'another connection' } })
    } finally {
      other.close()
    }
  })

  it('refuses a cursor that is no event id of this log', async () => {
    const bad = await fetch(`${a.internalUrl}/events?after=x`)
    expect(bad.status).toBe(422)
    expect(await bad.json()).toMatchObject({ code: 'invalid_event_id', field: 'after' })
    const ahead = await fetch(`${a.internalUrl}/events`, {
      headers: { 'Last-Event-ID': String(a.node.store.eventLog.latestId() + 1_000) }
    })
    expect(ahead.status).toBe(422)
    expect(await ahead.json()).toMatchObject({ code: 'unknown_event_id', field: 'Last-Event-ID' })
  })
})
