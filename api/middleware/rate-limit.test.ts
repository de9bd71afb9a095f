import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createExternalApp } from '../external-app.ts'
import { createHarness, type Harness } from '../test-support/fakes.ts'
import { send } from '../test-support/request.ts'

let h: Harness
let now: number
let key: string

function app(trustedProxies: string[] = []) {
  return createExternalApp(h.ports, {
    rateLimit: { perSecond: 2, burst: 4 },
    trustedProxies,
    bodyLimitBytes: 4096,
    now: () => now
  })
}

beforeEach(() => {
  h = createHarness()
  now = 0
  key = h.ports.apiKeys.create({ name: 'k', scopes: ['read'] }).key
})
afterEach(() => h.close())

describe('rate limits', () => {
  it('answers the anchor 429 body with Retry-After past the burst, and capacity returns at the rate', async () => {
    const a = app()
    for (let i = 0; i < 4; i++) expect((await send(a, '/network/stats', { key })).status).toBe(200)
    const limited = await send(a, '/network/stats', { key })
    expect(limited.status).toBe(429)
    expect(limited.json).toEqual({ error: 'Rate limit exceeded', retry_after: 0.5 })
    expect(limited.headers.get('retry-after')).toBe('1')
    expect(h.recorded.security.at(-1)).toMatchObject({ kind: 'rate_limit.hit' })
    now += 500
    expect((await send(a, '/network/stats', { key })).status).toBe(200)
    expect((await send(a, '/network/stats', { key })).status).toBe(429)
    now += 2000
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await send(a, '/network/stats', { key })).status)
    expect(statuses).toEqual([200, 200, 200, 200, 429])
  })

  it('limits per API key: the key is refused from another address once its bucket is empty', async () => {
    const a = app()
    for (let i = 0; i < 4; i++) {
      expect((await send(a, '/network/stats', { key, remote: `198.51.100.${i + 1}` })).status).toBe(200)
    }
    const limited = await send(a, '/network/stats', { key, remote: '198.51.100.9' })
    expect(limited.status).toBe(429)
    expect(h.recorded.security.at(-1)?.detail).toMatchObject({ bucket: expect.stringMatching(/^key:/) })
    const other = h.ports.apiKeys.create({ name: 'o', scopes: ['read'] }).key
    expect((await send(a, '/network/stats', { key: other, remote: '198.51.100.9' })).status).toBe(200)
  })

  // The anchor's RateLimiter buckets per IP (rate_limiter.py: `client_ip = self._get_client_ip(request)`);
  // the per-key bucket comes on top, and more keys buy no more than the address allows.
  it('limits per client address too: a client holding many keys gets no more than its address allows', async () => {
    const a = app()
    const keys = Array.from(
      { length: 6 },
      (_, i) => h.ports.apiKeys.create({ name: `many-${i}`, scopes: ['read'] }).key
    )
    const statuses = []
    for (const k of keys) statuses.push((await send(a, '/network/stats', { key: k })).status)
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429])
    expect(h.recorded.security.at(-1)?.detail).toMatchObject({ bucket: 'ip:203.0.113.7' })
    // Another address, with the same keys, has its own bucket.
    expect((await send(a, '/network/stats', { key: keys[5] as string, remote: '198.51.100.1' })).status).toBe(
      200
    )
  })

  it('gives the address bucket its own rate when configured', async () => {
    const a = createExternalApp(h.ports, {
      rateLimit: { perSecond: 2, burst: 2, addressPerSecond: 2, addressBurst: 3 },
      trustedProxies: [],
      bodyLimitBytes: 4096,
      now: () => now
    })
    const keys = Array.from(
      { length: 4 },
      (_, i) => h.ports.apiKeys.create({ name: `own-${i}`, scopes: ['read'] }).key
    )
    const statuses = []
    for (const k of keys) statuses.push((await send(a, '/network/stats', { key: k })).status)
    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('limits unauthenticated requests per address, so guessing keys is throttled', async () => {
    const a = app()
    for (let i = 0; i < 4; i++) expect((await send(a, '/network/stats', { key: 'guess' })).status).toBe(401)
    expect((await send(a, '/network/stats', { key: 'guess' })).status).toBe(429)
    expect((await send(a, '/health', { remote: '198.51.100.1' })).status).toBe(200)
  })

  it('ignores X-Forwarded-For from an untrusted address', async () => {
    const a = app()
    for (let i = 0; i < 4; i++) {
      await send(a, '/health', { headers: { 'x-forwarded-for': `10.0.0.${i}` } })
    }
    const r = await send(a, '/health', { headers: { 'x-forwarded-for': '10.9.9.9' } })
    expect(r.status).toBe(429)
  })

  it('believes X-Forwarded-For from a configured proxy, skipping trusted hops', async () => {
    const a = app(['127.0.0.1', '10.1.1.1'])
    for (let i = 0; i < 4; i++) {
      await send(a, '/health', {
        remote: '::ffff:127.0.0.1',
        headers: { 'x-forwarded-for': '192.0.2.1, 10.1.1.1' }
      })
    }
    const same = await send(a, '/health', {
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '192.0.2.1, 10.1.1.1' }
    })
    expect(same.status).toBe(429)
    const other = await send(a, '/health', {
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '192.0.2.2' }
    })
    expect(other.status).toBe(200)
    // A client cannot prepend a fake address: the rightmost untrusted hop is the client.
    const forged = await send(a, '/health', {
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '192.0.2.99, 192.0.2.1' }
    })
    expect(forged.status).toBe(429)
  })

  it('counts refusals in metrics', async () => {
    const a = app()
    for (let i = 0; i < 6; i++) await send(a, '/health')
    const text = await h.ports.metrics.registry.getSingleMetricAsString('dmn_rate_limit_hits_total')
    expect(text).toContain('dmn_rate_limit_hits_total{api="external"} 2')
  })
})
