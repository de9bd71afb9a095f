import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createInternalApp } from '../internal-app.ts'
import { createHarness, type Harness } from '../test-support/fakes.ts'

/** The browser guard inside the internal app, on app.request(); test/api/browser-edges.test.ts has the sockets. */

const HOST = '127.0.0.1:8080'
let h: Harness
let shutdown: AbortController

beforeEach(() => {
  h = createHarness()
  shutdown = new AbortController()
})
afterEach(() => {
  shutdown.abort()
  h.close()
})

function internal(options: { requireAdminKey?: boolean; burst?: number; allowedHosts?: string[] } = {}) {
  return createInternalApp(h.ports, {
    rateLimit: { perSecond: 1, burst: options.burst ?? 1000 },
    trustedProxies: [],
    bodyLimitBytes: 64 * 1024,
    requireAdminKey: options.requireAdminKey ?? false,
    shutdown: shutdown.signal,
    binding: {
      host: '127.0.0.1',
      allowedHosts: options.allowedHosts ?? [],
      bound: () => ({ address: '127.0.0.1', port: 8080 })
    }
  })
}

async function call(
  app: ReturnType<typeof internal>,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {}
) {
  const res = await app.request(
    `http://${HOST}${path}`,
    {
      method: init.method ?? 'GET',
      headers: { host: HOST, ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {})
    },
    { incoming: { socket: { remoteAddress: '127.0.0.1' } } } as never
  )
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

const refusals = () => h.recorded.security.filter((e) => e.kind === 'request.refused')

describe('browser guard: Host', () => {
  it('refuses a foreign Host with 403 host_not_allowed and a security-log entry naming it', async () => {
    const r = await call(internal(), '/api-keys', { headers: { host: 'rebind.evil.example:8080' } })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'host_not_allowed' })
    expect(refusals()).toEqual([
      {
        kind: 'request.refused',
        detail: expect.objectContaining({
          code: 'host_not_allowed',
          reason: 'host_foreign',
          method: 'GET',
          path: '/api-keys',
          client: '127.0.0.1',
          host: 'rebind.evil.example:8080'
        })
      }
    ])
  })

  it('refuses a request without Host, or with one that does not parse', async () => {
    const app = internal()
    const missing = await app.request('/health', {}, {
      incoming: { socket: { remoteAddress: '127.0.0.1' } }
    } as never)
    expect(missing.status).toBe(403)
    expect(await missing.json()).toMatchObject({ code: 'host_not_allowed' })
    expect((await call(app, '/health', { headers: { host: 'user@127.0.0.1:8080' } })).status).toBe(403)
    expect(refusals().map((e) => e.detail['reason'])).toEqual(['host_missing', 'host_invalid'])
  })

  it('answers its own address, localhost and a configured host', async () => {
    const app = internal({ allowedHosts: ['dmn.test'] })
    for (const host of [HOST, 'localhost:8080', '[::1]:8080', 'dmn.test:8080']) {
      expect((await call(app, '/health', { headers: { host } })).status, host).toBe(200)
    }
    expect(refusals()).toEqual([])
  })

  it('refuses before the key lookup and the rate limit: no auth entry, no token taken', async () => {
    const app = internal({ requireAdminKey: true, burst: 1 })
    const { key } = h.ports.apiKeys.create({ name: 'a', scopes: ['admin'] })
    for (let i = 0; i < 3; i++) {
      const r = await call(app, '/keyring', {
        headers: { host: 'rebind.evil.example:8080', 'x-api-key': 'guess' }
      })
      expect(r.json['code']).toBe('host_not_allowed')
    }
    expect(h.recorded.security.map((e) => e.kind)).toEqual([
      'request.refused',
      'request.refused',
      'request.refused'
    ])
    expect((await call(app, '/keyring', { headers: { 'x-api-key': key } })).status).toBe(200)
  })

  it('counts refusals in the request metrics', async () => {
    const app = internal()
    await call(app, '/keyring/rotate', { method: 'POST', headers: { host: 'evil.example:8080' } })
    const text = await h.ports.metrics.registry.getSingleMetricAsString('dmn_http_requests_total')
    expect(text).toContain('dmn_http_requests_total{api="internal",method="POST",route="/*",status="403"} 1')
  })
})

describe('browser guard: Origin and Sec-Fetch-Site', () => {
  it('refuses another origin, Origin: null, and an origin of another scheme or port', async () => {
    const app = internal()
    for (const origin of [
      'http://evil.example',
      'null',
      'https://127.0.0.1:8080',
      'http://127.0.0.1:8081',
      'http://localhost:8080',
      'not a url'
    ]) {
      const r = await call(app, '/keyring', { headers: { origin } })
      expect(r.status, origin).toBe(403)
      expect(r.json['code'], origin).toBe('cross_origin_refused')
    }
    expect(refusals()[1]?.detail['reason']).toBe('origin_null')
  })

  it('refuses Sec-Fetch-Site cross-site, same-site and unknown values; allows same-origin and none', async () => {
    const app = internal()
    for (const site of ['cross-site', 'same-site', 'bogus']) {
      const r = await call(app, '/keyring', { headers: { 'sec-fetch-site': site } })
      expect(r.status, site).toBe(403)
      expect(r.json['code'], site).toBe('cross_origin_refused')
    }
    for (const site of ['same-origin', 'none']) {
      expect((await call(app, '/keyring', { headers: { 'sec-fetch-site': site } })).status, site).toBe(200)
    }
  })

  it('answers a page of its own origin', async () => {
    const r = await call(internal(), '/keyring/rotate', {
      method: 'POST',
      headers: {
        origin: `http://${HOST}`,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/json'
      }
    })
    expect(r.status).toBe(200)
    expect(r.json['primary_version']).toBe(2)
  })
})

describe('browser guard: Content-Type of state-changing requests', () => {
  it('refuses every type an HTML form can send, with or without a body, on each writing method', async () => {
    const app = internal()
    const forms = ['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const type of forms) {
        const r = await call(app, '/keyring/rotate', { method, headers: { 'content-type': type } })
        expect(r.status, `${method} ${type}`).toBe(415)
        expect(r.json['code']).toBe('content_type_refused')
      }
    }
    // Nothing was rotated.
    const status = await call(app, '/keyring')
    expect(status.json['primary_version']).toBe(1)
  })

  it('refuses a body without Content-Type, and allows a bodiless request without one', async () => {
    const app = internal()
    const untyped = await call(app, '/api-keys', {
      method: 'POST',
      headers: { 'content-length': '2' },
      body: new TextEncoder().encode('{}')
    })
    expect(untyped.status).toBe(415)
    expect(refusals()[0]?.detail['reason']).toBe('content_type_missing')
    expect((await call(app, '/keyring/rotate', { method: 'POST' })).status).toBe(200)
    expect(
      (await call(app, '/keyring/rotate', { method: 'POST', headers: { 'content-length': '0' } })).status
    ).toBe(200)
  })

  it('accepts application/json with parameters, in any case', async () => {
    const r = await call(internal(), '/api-keys', {
      method: 'POST',
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
      body: JSON.stringify({ name: 'ok', scopes: ['read'] })
    })
    expect(r.status).toBe(201)
  })
})
