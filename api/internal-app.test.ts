import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createInternalApp } from './internal-app.ts'
import { createExternalApp } from './external-app.ts'
import { createHarness, type Harness, PEER_B } from './test-support/fakes.ts'
import { send } from './test-support/request.ts'
import { EventLogRepository } from '../node/store/event-log.ts'

let h: Harness
let shutdown: AbortController
let app: ReturnType<typeof createInternalApp>

const settings = {
  rateLimit: { perSecond: 1000, burst: 1000 },
  trustedProxies: [],
  bodyLimitBytes: 64 * 1024,
  // app.request() sends to http://localhost/, that is port 80.
  binding: { host: '127.0.0.1', allowedHosts: [], bound: () => ({ address: '127.0.0.1', port: 80 }) }
}

beforeEach(() => {
  h = createHarness()
  shutdown = new AbortController()
  app = createInternalApp(h.ports, { ...settings, requireAdminKey: false, shutdown: shutdown.signal })
})
afterEach(() => {
  shutdown.abort()
  h.close()
})

describe('status', () => {
  it('GET /health lists every component', async () => {
    const r = await send(app, '/health', { remote: '127.0.0.1' })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({
      status: 'healthy',
      components: { database: { status: 'up' }, p2p: { status: 'up' }, chain: { status: 'up' } }
    })
  })

  it('reports degraded when a non-critical component is down', async () => {
    ;(h.ports.health as { name: string; check: () => Promise<unknown> }[])[2]!.check = async () => ({
      status: 'down'
    })
    const r = await send(app, '/health')
    expect(r.status).toBe(200)
    expect(r.json['status']).toBe('degraded')
  })

  it('GET /metrics exposes requests, latencies, rate-limit hits, shares, outbox, lag and peers', async () => {
    await send(app, '/health')
    const r = await send(app, '/metrics')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/plain')
    for (const line of [
      'dmn_http_requests_total{api="internal",method="GET",route="/health",status="200"} 1',
      'dmn_http_request_duration_seconds_bucket',
      'dmn_rate_limit_hits_total',
      'dmn_outbox_depth{state="pending"} 1',
      'dmn_publisher_lag_seconds 4',
      'dmn_peers{kind="healthy"} 1'
    ]) {
      expect(r.text).toContain(line)
    }
  })

  it('counts shares by state in metrics', async () => {
    const ext = createExternalApp(h.ports, settings)
    const { key } = h.ports.apiKeys.create({ name: 'w', scopes: ['share'] })
    await send(ext, '/share_data', { body: { data: 'x', recipient: PEER_B }, key })
    const r = await send(app, '/metrics')
    expect(r.text).toContain('dmn_shares{state="queued"} 1')
  })

  it('answers 503 unhealthy when the database probe fails', async () => {
    ;(h.ports.health as { name: string; check: () => Promise<unknown> }[])[0]!.check = async () => {
      throw new Error('database is locked')
    }
    const r = await send(app, '/health')
    expect(r.status).toBe(503)
    expect(r.json).toMatchObject({ status: 'unhealthy', components: { database: { status: 'down' } } })
    expect(r.text).not.toContain('locked')
  })

  it('GET /audit/{hash}/bundle answers 404 when the node is party to no share of it, 422 for a bad hash', async () => {
    const none = await send(app, `/audit/${'1'.repeat(64)}/bundle`)
    expect(none.status).toBe(404)
    expect(none.json).toMatchObject({ code: 'not_found' })
    expect((await send(app, '/audit/xyz/bundle')).status).toBe(422)
  })

  it('serves its own OpenAPI 3.1 document', async () => {
    const doc = (await send(app, '/openapi.json')).json as { openapi: string; paths: Record<string, unknown> }
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/health',
      '/keyring/rotate',
      '/api-keys',
      '/api-keys/{id}',
      '/peers/{peer_id}/deny',
      '/outbox/{id}/retry',
      '/audit/{data_hash}/bundle',
      '/events'
    ]) {
      expect(doc.paths).toHaveProperty([path])
    }
  })

  it('GET /audit/status reports the publisher', async () => {
    const r = await send(app, '/audit/status')
    expect(r.json).toMatchObject({ chain_id: 31337, pending: 1, failed: 1, lag_seconds: 4 })
  })
})

describe('key ring', () => {
  it('shows status, rotates and rewraps, logging both operations', async () => {
    expect((await send(app, '/keyring')).json).toMatchObject({ primary_version: 1, minimum_version: 1 })
    const rotated = await send(app, '/keyring/rotate', { method: 'POST' })
    expect(rotated.json).toEqual({ primary_version: 2 })
    const rewrapped = await send(app, '/keyring/rewrap', { method: 'POST' })
    expect(rewrapped.json).toEqual({ rewrapped: 0, primary_version: 2 })
    expect(h.recorded.security.map((e) => e.kind)).toEqual(['key.rotated', 'key.rewrapped'])
  })
})

describe('API keys', () => {
  it('creates a key shown once that works on the external API, lists without secrets, revokes', async () => {
    const created = await send(app, '/api-keys', { body: { name: 'app', scopes: ['read'] } })
    expect(created.status).toBe(201)
    const key = created.json['key'] as string
    expect(key).toMatch(/^dmn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
    const ext = createExternalApp(h.ports, settings)
    expect((await send(ext, '/network/stats', { key })).status).toBe(200)

    const list = await send(app, '/api-keys')
    expect(list.text).not.toContain(key)
    expect(list.text).not.toContain(key.slice(-43))
    expect(list.json['api_keys']).toEqual([
      expect.objectContaining({ id: created.json['id'], name: 'app', scopes: ['read'], revoked_at: null })
    ])

    const revoked = await send(app, `/api-keys/${created.json['id']}`, { method: 'DELETE' })
    expect(revoked.status).toBe(200)
    expect(revoked.json['revoked_at']).toBeTypeOf('string')
    expect((await send(ext, '/network/stats', { key })).json['code']).toBe('api_key_revoked')
    expect(h.recorded.security.map((e) => e.kind)).toContain('api_key.revoked')
  })

  it('validates the request: scopes, name, expiry', async () => {
    const badScope = await send(app, '/api-keys', { body: { name: 'x', scopes: ['root'] } })
    expect(badScope.status).toBe(422)
    expect(badScope.json['field']).toBe('scopes.0')
    expect((await send(app, '/api-keys', { body: { name: '', scopes: ['read'] } })).json['field']).toBe(
      'name'
    )
    const past = await send(app, '/api-keys', {
      body: { name: 'x', scopes: ['read'], expires_at: '2001-01-01T00:00:00Z' }
    })
    expect(past.status).toBe(422)
    expect(past.json['code']).toBe('validation_failed')
  })

  it('answers 404 for revoking an unknown key and 422 for a malformed id', async () => {
    expect((await send(app, `/api-keys/${'0'.repeat(16)}`, { method: 'DELETE' })).status).toBe(404)
    expect((await send(app, '/api-keys/..%2Fx', { method: 'DELETE' })).status).toBe(422)
  })
})

describe('peers and outbox', () => {
  it('lists peers, allows and denies them, logging each decision', async () => {
    expect((await send(app, '/peers?healthy=true')).json['count']).toBe(1)
    const denied = await send(app, `/peers/${PEER_B}/deny`, { method: 'POST' })
    expect(denied.json).toMatchObject({ peer_id: PEER_B, status: 'denied' })
    const allowed = await send(app, `/peers/${PEER_B}/allow`, { method: 'POST' })
    expect(allowed.json).toMatchObject({ trust: 'allowlisted', status: 'active' })
    expect(h.recorded.security.map((e) => e.detail['change'])).toEqual(['peer.denied', 'peer.allowed'])
  })

  it('answers 404 for an unknown peer and 422 for a malformed PeerId', async () => {
    const unknown = await send(app, `/peers/12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/deny`, {
      method: 'POST'
    })
    expect(unknown.status).toBe(404)
    expect((await send(app, '/peers/0OIl/deny', { method: 'POST' })).status).toBe(422)
  })

  it('lists the outbox and retries a failed entry; 409 for one that has not failed, 404 unknown', async () => {
    expect((await send(app, '/outbox?state=failed')).json['count']).toBe(1)
    const retried = await send(app, '/outbox/1/retry', { method: 'POST' })
    expect(retried.json).toMatchObject({ id: 1, state: 'pending', last_error: null })
    expect((await send(app, '/outbox/2/retry', { method: 'POST' })).status).toBe(409)
    expect((await send(app, '/outbox/99/retry', { method: 'POST' })).status).toBe(404)
    const bad = await send(app, '/outbox/abc/retry', { method: 'POST' })
    expect(bad.status).toBe(422)
    expect(bad.json['field']).toBe('id')
  })
})

describe('event stream', () => {
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const res = await app.request(path, { headers: { host: 'localhost', ...headers } }, {
      incoming: { socket: { remoteAddress: '127.0.0.1' } }
    } as never)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    const stream = { text: '' }
    const readUntil = async (needle: string) => {
      while (!stream.text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${needle}`)
        stream.text += decoder.decode(value)
      }
    }
    const close = async () => {
      await reader.cancel()
    }
    return { stream, readUntil, close }
  }
  /** `id:` and `event:` of every SSE message read so far, in order. */
  const messages = (text: string) =>
    text
      .split('\n\n')
      .map((block) => ({
        id: /^id: (.*)$/m.exec(block)?.[1],
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: /^data: (.*)$/m.exec(block)?.[1]
      }))
      .filter((m) => m.event !== undefined)

  it('streams events appended after it started, with their log ids, filtered by type prefix', async () => {
    const log = new EventLogRepository(h.db)
    log.append('share.delivered', { share_id: 'before' })
    const s = await open('/events?types=share.')
    await s.readUntil('event: ready')
    log.append('audit.confirmed', {})
    const id = log.append('share.delivered', { share_id: 'abc' })
    h.ports.events.notify()
    await s.readUntil('"share_id":"abc"')
    const seen = messages(s.stream.text)
    expect(seen.map((m) => m.event)).toEqual(['ready', 'share.delivered'])
    expect(seen[1]?.id).toBe(String(id))
    expect(JSON.parse(seen[1]?.data ?? '{}')).toMatchObject({
      id,
      type: 'share.delivered',
      data: { share_id: 'abc' }
    })
    shutdown.abort()
    await s.close()
  })

  it('resumes after Last-Event-ID, which wins over ?after=, and after ?after= alone', async () => {
    const log = new EventLogRepository(h.db)
    const ids = [1, 2, 3, 4].map((n) => log.append('share.accepted', { n }))
    const byHeader = await open('/events?after=0', { 'last-event-id': String(ids[1]) })
    await byHeader.readUntil(`id: ${ids[3]}`)
    expect(messages(byHeader.stream.text).map((m) => m.id)).toEqual([
      undefined,
      String(ids[2]),
      String(ids[3])
    ])
    await byHeader.close()
    const byQuery = await open(`/events?after=${ids[2]}`)
    await byQuery.readUntil(`id: ${ids[3]}`)
    expect(messages(byQuery.stream.text).map((m) => m.id)).toEqual([undefined, String(ids[3])])
    await byQuery.close()
  })

  it('tells a reader whose cursor is older than retention, then goes on from the oldest event kept', async () => {
    const log = new EventLogRepository(h.db)
    for (let i = 0; i < 5; i++) log.append('share.accepted', { i }, 1_000 + i)
    log.append('share.accepted', { i: 5 }, Date.now())
    expect(log.pruneBefore(2_000)).toBe(5)
    const s = await open('/events', { 'last-event-id': '2' })
    await s.readUntil('id: 6')
    const seen = messages(s.stream.text)
    expect(seen.map((m) => m.event)).toEqual(['ready', 'expired', 'share.accepted'])
    expect(JSON.parse(seen[1]?.data ?? '{}')).toEqual({ after: 2, oldest_id: 6 })
    await s.close()
  })

  it('refuses a cursor that is no event id with 422 and a stable code', async () => {
    new EventLogRepository(h.db).append('share.accepted', {})
    for (const [path, headers, field] of [
      ['/events?after=-1', {}, 'after'],
      ['/events?after=1.5', {}, 'after'],
      ['/events?after=abc', {}, 'after'],
      ['/events', { 'last-event-id': '01' }, 'Last-Event-ID']
    ] as const) {
      const r = await send(app, path, { remote: '127.0.0.1', headers })
      expect(r.status).toBe(422)
      expect(r.json).toMatchObject({ code: 'invalid_event_id', field })
    }
    const unknown = await send(app, '/events?after=2', { remote: '127.0.0.1' })
    expect(unknown.status).toBe(422)
    expect(unknown.json).toMatchObject({ code: 'unknown_event_id', field: 'after' })
  })
})
