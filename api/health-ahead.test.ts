import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../node/log/logger.ts'
import { createBaseApp } from './app-base.ts'
import { createExternalApp } from './external-app.ts'
import { createHarness, type Harness } from './test-support/fakes.ts'
import { send } from './test-support/request.ts'

let h: Harness
let lines: Record<string, unknown>[]

beforeEach(() => {
  lines = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  h = createHarness({ logger: createLogger({ destination, level: 'debug' }) })
})
afterEach(() => h.close())

const app = (rateLimit = { perSecond: 1000, burst: 1000 }) =>
  createExternalApp(h.ports, { rateLimit, trustedProxies: [], bodyLimitBytes: 4096, now: () => 0 })

const accessLines = () => lines.filter((line) => line['msg'] === 'http request')

describe('GET /health answered ahead of the middleware', () => {
  it("gives the body and headers of the app's own route", async () => {
    const a = app()
    const ahead = await send(a, '/health')
    // The percent-encoded form is decoded by Hono's router, so the app's route answers it.
    const routed = await send(a, '/%68ealth')
    expect(ahead.status).toBe(200)
    expect(ahead.text).toBe(routed.text)
    expect([...ahead.headers.keys()].sort()).toEqual([...routed.headers.keys()].sort())
    const perRequest = new Set(['x-request-id', 'x-ratelimit-remaining'])
    for (const [name, value] of routed.headers) {
      if (!perRequest.has(name)) expect(ahead.headers.get(name), name).toBe(value)
    }
    expect(ahead.headers.get('cache-control')).toBe('no-store')
    expect(ahead.headers.get('x-ratelimit-remaining')).toBe('999')
    expect(routed.headers.get('x-ratelimit-remaining')).toBe('998')
  })

  it('answers without awaiting anything while the report in hand is fresh', async () => {
    const a = app()
    const env = { incoming: { socket: { remoteAddress: '203.0.113.7' } } }
    const deadline = Date.now() + 10_000
    let answer = a.fetch(new Request('http://localhost/health'), env)
    // The first answer waits for the first check; an answer within the report's TTL does not.
    while (answer instanceof Promise && Date.now() < deadline) {
      await answer
      answer = a.fetch(new Request('http://localhost/health'), env)
    }
    expect(answer).toBeInstanceOf(Response)
    expect(await (answer as Response).json()).toMatchObject({ status: 'healthy' })
    // Through the middleware, an answer is always a promise.
    expect(a.fetch(new Request('http://localhost/%68ealth'), env)).toBeInstanceOf(Promise)
  })

  it('answers with a query string too; other methods and paths go to the app', async () => {
    const a = app()
    expect((await send(a, '/health?probe=lb')).json).toMatchObject({ status: 'healthy' })
    const head = await send(a, '/health', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.text).toBe('')
    expect((await send(a, '/health', { method: 'POST', body: {} })).status).toBe(404)
    expect((await send(a, '/health/')).status).toBe(404)
    expect((await send(a, '/healthz')).status).toBe(404)
  })

  it('keeps a sane X-Request-Id and replaces any other with a fresh one', async () => {
    const a = app()
    const kept = await send(a, '/health', { headers: { 'x-request-id': 'lb-probe.7' } })
    expect(kept.headers.get('x-request-id')).toBe('lb-probe.7')
    const replaced = await send(a, '/health', { headers: { 'x-request-id': 'two words' } })
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const fresh = await send(a, '/health')
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(fresh.headers.get('x-request-id')).not.toBe(replaced.headers.get('x-request-id'))
  })

  it("draws on the client address's bucket, shared with the other paths, and answers the anchor 429 past it", async () => {
    const { key } = h.ports.apiKeys.create({ name: 'reader', scopes: ['read'] })
    const a = app({ perSecond: 1, burst: 3 })
    expect((await send(a, '/health')).status).toBe(200)
    expect((await send(a, '/network/stats', { key })).status).toBe(200)
    expect((await send(a, '/health')).status).toBe(200)
    const limited = await send(a, '/health')
    expect(limited.status).toBe(429)
    expect(limited.json).toEqual({ error: 'Rate limit exceeded', retry_after: 1 })
    expect(limited.headers.get('retry-after')).toBe('1')
    expect(limited.headers.get('cache-control')).toBe('no-store')
    expect(limited.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(limited.headers.get('x-ratelimit-limit')).toBeNull()
    expect(h.recorded.security.at(-1)).toEqual({
      kind: 'rate_limit.hit',
      detail: { bucket: 'ip:203.0.113.7', method: 'GET', path: '/health', client: '203.0.113.7' }
    })
    // Another address has a bucket of its own.
    expect((await send(a, '/health', { remote: '198.51.100.4' })).status).toBe(200)
  })

  it('counts every answer in the request metrics, refusals under /* as the app counts them, and times none', async () => {
    const a = app({ perSecond: 1, burst: 2 })
    for (let i = 0; i < 3; i++) await send(a, '/health')
    const text = await h.ports.metrics.registry.metrics()
    expect(text).toContain(
      'dmn_http_requests_total{api="external",method="GET",route="/health",status="200"} 2'
    )
    expect(text).toContain('dmn_http_requests_total{api="external",method="GET",route="/*",status="429"} 1')
    // Counted, not timed (api/health-ahead.ts).
    expect(text).not.toContain('dmn_http_request_duration_seconds_count{api="external"')
    expect(text).toContain('dmn_rate_limit_hits_total{api="external"} 1')
  })

  it('writes the access line: debug while healthy, info when unhealthy', async () => {
    await send(app(), '/health', { headers: { 'x-request-id': 'probe-1' } })
    expect(accessLines()).toEqual([
      expect.objectContaining({
        level: 'debug',
        requestId: 'probe-1',
        api: 'external',
        method: 'GET',
        path: '/health',
        status: 200,
        client: '203.0.113.7',
        durationMs: expect.any(Number)
      })
    ])
    ;(h.ports.health as { name: string; check: () => Promise<unknown> }[])[0]!.check = async () => {
      throw new Error('disk gone')
    }
    // A new app: the first one keeps its healthy report for its TTL.
    const unhealthy = await send(app(), '/health', { headers: { 'x-request-id': 'probe-2' } })
    expect(unhealthy.status).toBe(503)
    expect(unhealthy.json).toMatchObject({ status: 'unhealthy', p2p: { running: true, peers: 1 } })
    expect(accessLines().at(-1)).toMatchObject({ level: 'info', requestId: 'probe-2', status: 503 })
  })

  it('is refused with a guard, which only the middleware chain runs', () => {
    expect(() =>
      createBaseApp({
        api: 'internal',
        rateLimit: { perSecond: 1, burst: 1 },
        trustedProxies: [],
        bodyLimitBytes: 1024,
        apiKeys: h.ports.apiKeys,
        securityLog: h.ports.securityLog,
        metrics: h.ports.metrics,
        logger: h.ports.logger,
        guard: async (_c, next) => next(),
        healthAhead: { path: '/health', answer: () => ({ status: 200, body: '{}' }) }
      })
    ).toThrow(TypeError)
  })
})
