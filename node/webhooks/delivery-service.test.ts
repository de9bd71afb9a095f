import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from '../store/database.ts'
import { EventLogRepository } from '../store/event-log.ts'
import { migrate } from '../store/migrations.ts'
import { WebhookRepository } from '../store/webhooks.ts'
import { createWebhookAdmin } from './admin.ts'
import { WebhookDeliveryService, type WebhookDeliveryInit } from './delivery-service.ts'

/** The delivery service on a SQLite file and real HTTP receivers in this process. */

let dir: string
let db: Db
let log: EventLogRepository
let repo: WebhookRepository
const servers: Server[] = []
const services: WebhookDeliveryService[] = []
const own = { ports: () => [1] }

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-webhook-delivery-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  log = new EventLogRepository(db)
  repo = new WebhookRepository(db)
})
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop()
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

async function receiver(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const ids: string[] = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      ids.push(String(req.headers['webhook-id']))
      answer(req, res)
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, ids }
}

function service(init: Partial<WebhookDeliveryInit> = {}): WebhookDeliveryService {
  const s = new WebhookDeliveryService(
    { subscriptions: () => repo, events: () => log, own, logger: pino({ level: 'silent' }) },
    {
      concurrency: 8,
      timeoutMs: 5_000,
      pollIntervalMs: 50,
      retry: { baseMs: 10, capMs: 50, windowMs: 60_000 },
      ...init
    }
  )
  services.push(s)
  return s
}

const admin = () => createWebhookAdmin({ subscriptions: () => repo, events: () => log, own })

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('webhook delivery service', () => {
  it('delivers only the events after creation that match the filter, in order, through failures', async () => {
    log.append('share.accepted', { n: 0 })
    let calls = 0
    // Every other request fails: each event is retried and order still holds.
    const r = await receiver((_req, res) => res.writeHead(calls++ % 2 === 0 ? 503 : 200).end())
    const { view } = await admin().create({ url: r.url, eventTypes: ['share.'] })
    const ids: number[] = []
    for (let i = 1; i <= 6; i++) {
      ids.push(log.append(i % 3 === 0 ? 'audit.confirmed' : 'share.delivered', { n: i }))
    }
    service().start()
    const wanted = ids.filter((_, i) => (i + 1) % 3 !== 0)
    await until('every matching event', () => repo.get(view.id)?.cursor === wanted.at(-1))
    const firsts = [...new Set(r.ids)]
    expect(firsts).toEqual(wanted.map((id) => `evt_${id}`))
    expect(r.ids.length).toBe(wanted.length * 2)
  })

  it('tells its observers each 2xx with its lag and each failed attempt with its reason', async () => {
    let calls = 0
    const r = await receiver((_req, res) => res.writeHead(calls++ === 0 ? 500 : 204).end())
    const { view } = await admin().create({ url: r.url, eventTypes: [] })
    const id = log.append('share.delivered', { n: 1 })
    const s = service()
    const delivered: { eventId: number; lagSeconds: number }[] = []
    const failed: { eventId: number; reason: string; final: boolean }[] = []
    s.on('delivered', (e) => delivered.push(e))
    s.on('attempt-failed', (e) => failed.push(e))
    s.start()
    await until('the delivery', () => repo.get(view.id)?.cursor === id)
    expect(failed).toEqual([{ webhook: view.id, eventId: id, reason: 'http_status', final: false }])
    expect(delivered).toEqual([{ webhook: view.id, eventId: id, lagSeconds: expect.any(Number) }])
    expect(delivered[0]?.lagSeconds).toBeGreaterThanOrEqual(0)
  })

  it('keeps at most `concurrency` attempts in flight across subscriptions', async () => {
    let inFlight = 0
    let most = 0
    const r = await receiver((_req, res) => {
      inFlight++
      most = Math.max(most, inFlight)
      setTimeout(() => {
        inFlight--
        res.writeHead(204).end()
      }, 100)
    })
    const subs = await Promise.all([1, 2, 3, 4].map(() => admin().create({ url: r.url, eventTypes: [] })))
    for (let i = 0; i < 3; i++) log.append('share.delivered', { i })
    service({ concurrency: 2 }).start()
    const last = log.latestId()
    await until('all delivered', () => subs.every((s) => repo.get(s.view.id)?.cursor === last))
    expect(r.ids).toHaveLength(12)
    expect(most).toBeLessThanOrEqual(2)
    expect(most).toBe(2)
  })

  it('records nothing for an attempt cut short by stop, so the event is sent again after a restart', async () => {
    const held: ServerResponse[] = []
    const r = await receiver((_req, res) => held.push(res))
    const { view } = await admin().create({ url: r.url, eventTypes: [] })
    const id = log.append('share.delivered', {})
    const first = service()
    first.start()
    await until('the attempt', () => held.length === 1)
    await first.stop()
    expect(repo.get(view.id)).toMatchObject({ cursor: id - 1, attempts: 0, lastError: null })
    const ok = await receiver((_req, res) => res.writeHead(200).end())
    db.prepare('UPDATE webhook_subscriptions SET url = ? WHERE id = ?').run(ok.url, view.id)
    service().start()
    await until('delivered after the restart', () => repo.get(view.id)?.cursor === id)
    expect(ok.ids).toEqual([`evt_${id}`])
  })

  it('stops at a paused subscription and goes on from its cursor when resumed', async () => {
    const paused = await receiver((_req, res) => res.writeHead(200).end())
    const active = await receiver((_req, res) => res.writeHead(200).end())
    const { view } = await admin().create({ url: paused.url, eventTypes: [] })
    const other = await admin().create({ url: active.url, eventTypes: [] })
    admin().pause(view.id)
    const id = log.append('share.delivered', {})
    const s = service()
    s.start()
    // The active subscription got it, and a poll went by: the paused one had every chance.
    await until('the active subscription', () => repo.get(other.view.id)?.cursor === id)
    await new Promise((r) => setTimeout(r, 120))
    expect(paused.ids).toEqual([])
    expect(repo.get(view.id)?.cursor).toBe(id - 1)
    admin().resume(view.id)
    s.refresh()
    await until('delivered once resumed', () => repo.get(view.id)?.cursor === id)
    expect(paused.ids).toEqual([`evt_${id}`])
  })

  it('moves an idle cursor past a long run of events its filter does not take', async () => {
    const r = await receiver((_req, res) => res.writeHead(200).end())
    const { view } = await admin().create({ url: r.url, eventTypes: ['audit.'] })
    db.transaction(() => {
      for (let i = 0; i < 1_200; i++) log.append('share.delivered', { i })
    })()
    service().start()
    await until('the cursor past them', () => repo.get(view.id)?.cursor === log.latestId())
    const id = log.append('audit.confirmed', {})
    await until('the next matching event', () => repo.get(view.id)?.cursor === id)
    expect(r.ids).toEqual([`evt_${id}`])
  })
})
