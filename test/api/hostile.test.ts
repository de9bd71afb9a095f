import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServer } from '../../api/server.ts'
import { createHarness, type Harness } from '../../api/test-support/fakes.ts'
import { configSchema } from '../../config/index.ts'

/**
 * Hostile input against the external API on a real socket. After every case the node must still
 * answer a normal request.
 */

const ETH = '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01'
let h: Harness
let server: ApiServer
let base: string
let key: string

beforeAll(async () => {
  h = createHarness()
  const api = configSchema.parse({
    api: {
      internal: { host: '127.0.0.1', port: 0 },
      external: { host: '127.0.0.1', port: 0, rateLimit: { perSecond: 1000, burst: 1000 } }
    }
  }).api
  server = new ApiServer(h.ports, { config: api, drainMs: 500 })
  await server.start()
  base = server.listening.external.url
  key = h.ports.apiKeys.create({ name: 'hostile', scopes: ['share', 'read'] }).key
})
afterAll(async () => {
  await server.stop()
  h.close()
})

async function post(body: string | Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/share_data`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, ...headers },
    body
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

async function stillServing() {
  const res = await fetch(`${base}/health`)
  expect(res.status).toBe(200)
  const share = await post(JSON.stringify({ data: 'still here', recipient: ETH }))
  expect(share.status).toBe(201)
}

/** Sends `total` bytes with a Content-Length (or chunked) until the server answers; returns what was sent. */
function flood(total: number, chunked: boolean): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${base}/share_data`)
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'x-api-key': key }
    if (!chunked) headers['content-length'] = total
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers })
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let sent = 0
    let answered = false
    req.on('response', (res) => {
      answered = true
      let body = ''
      res.on('data', (c) => {
        body += String(c)
      })
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode ?? 0, body, sent })
      })
    })
    req.on('error', (err) => {
      if (!answered) reject(err)
    })
    const pump = () => {
      while (!answered && sent < total) {
        const n = Math.min(chunk.length, total - sent)
        sent += n
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump)
          return
        }
      }
      if (!answered) req.end()
    }
    req.write('{"data":"')
    pump()
  })
}

describe('hostile input on a real socket', () => {
  it('answers malformed JSON as the anchor does: 422 Invalid JSON body, field null', async () => {
    for (const body of ['{', '{"data": "x"', 'null x', '\u0000\u0001', '{"data":"x","recipient":}']) {
      const r = await post(body)
      expect(r.status).toBe(422)
      expect(r.json).toEqual({ error: 'Invalid JSON body', code: 'malformed_json', field: null })
    }
    await stillServing()
  })

  it('answers wrong types and invalid addresses with 422 naming the field', async () => {
    const cases: [unknown, string | null][] = [
      [{ data: ['x'], recipient: ETH }, 'data'],
      [{ data: 'x', recipient: { $ne: null } }, 'recipient'],
      [{ data: 'x', recipient: '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE0' }, 'recipient'],
      [{ data: 'x', recipient: `${ETH}00` }, 'recipient'],
      [{ data: 'x', recipient: ETH, payment_token: 'DROP TABLE', payment_amount: 1 }, 'payment_token'],
      [{ data: 'x', recipient: ETH, payment_amount: '1e18' }, 'payment_amount'],
      [{ data: 'x', recipient: ETH, security_tier: { toString: 1 } }, 'security_tier'],
      // validation.py: "Request body must be a JSON object", with no field.
      ['just a string', null],
      [12345, null]
    ]
    for (const [body, field] of cases) {
      const r = await post(JSON.stringify(body))
      expect(r.status, JSON.stringify(body)).toBe(422)
      expect(r.json['field']).toBe(field)
    }
    await stillServing()
  })

  it('refuses data of 1 MiB + 1 byte with 422 on data, and accepts exactly 1 MiB', async () => {
    const over = await post(JSON.stringify({ data: 'a'.repeat(1024 * 1024 + 1), recipient: ETH }))
    expect(over.status).toBe(422)
    expect(over.json['field']).toBe('data')
    const exact = await post(JSON.stringify({ data: 'a'.repeat(1024 * 1024), recipient: ETH }))
    expect(exact.status).toBe(201)
    await stillServing()
  })

  it('answers 413 to a 100 MiB body with Content-Length before reading it', async () => {
    const r = await flood(100 * 1024 * 1024, false)
    expect(r.status).toBe(413)
    expect(JSON.parse(r.body)).toMatchObject({ code: 'payload_too_large' })
    expect(r.sent).toBeLessThan(100 * 1024 * 1024)
    await stillServing()
  })

  it('answers 413 to a chunked body as soon as it passes the limit', async () => {
    const r = await flood(100 * 1024 * 1024, true)
    expect(r.status).toBe(413)
    expect(r.sent).toBeLessThan(100 * 1024 * 1024)
    await stillServing()
  })

  it('refuses odd unicode that would change the data: lone surrogates and invalid UTF-8', async () => {
    const lone = await post('{"data":"\\ud800abc","recipient":"' + ETH + '"}')
    expect(lone.status).toBe(422)
    expect(lone.json['field']).toBe('data')
    const bytes = Buffer.concat([
      Buffer.from('{"data":"\xc3'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`","recipient":"${ETH}"}`)
    ])
    // The anchor cannot decode it either: 422 Invalid JSON body.
    const invalid = await post(bytes)
    expect(invalid.status).toBe(422)
    expect(invalid.json).toMatchObject({ error: 'Invalid JSON body', field: null })
    // Valid but unusual text is data like any other.
    const fine = await post(JSON.stringify({ data: '\u202e\u0000\ufeff👩‍👩‍👧 Z̷̢a̸l', recipient: ETH }))
    expect(fine.status).toBe(201)
    await stillServing()
  })

  it('refuses path traversal and non-hex in hash parameters', async () => {
    for (const path of [
      '/data/..%2F..%2F..%2Fetc%2Fpasswd',
      `/data/${'z'.repeat(64)}`,
      `/verify_data/${'a'.repeat(63)}%2F`,
      `/verify_data/${'a'.repeat(65)}`,
      '/v1/data/%00'
    ]) {
      const res = await fetch(`${base}${path}`, { headers: { 'x-api-key': key } })
      expect(res.status, path).toBe(422)
      expect(((await res.json()) as Record<string, unknown>)['field']).toBe('data_hash')
    }
    const raw = await fetch(`${base}/data/../../../etc/passwd`, { headers: { 'x-api-key': key } })
    expect(raw.status).toBe(404)
    await stillServing()
  })

  it('answers missing, expired and revoked keys with 401', async () => {
    const expiring = h.ports.apiKeys.create({
      name: 'exp',
      scopes: ['read'],
      expiresAt: new Date(h.clock.now.getTime() + 1000)
    })
    h.clock.now = new Date(h.clock.now.getTime() + 2000)
    const revoked = h.ports.apiKeys.create({ name: 'rev', scopes: ['read'] })
    h.ports.apiKeys.revoke(revoked.info.id)
    const codes: string[] = []
    for (const k of [undefined, expiring.key, revoked.key]) {
      const res = await fetch(`${base}/network/stats`, { headers: k ? { 'x-api-key': k } : {} })
      expect(res.status).toBe(401)
      codes.push(((await res.json()) as Record<string, string>)['code'] as string)
    }
    expect(codes).toEqual(['api_key_missing', 'api_key_expired', 'api_key_revoked'])
    await stillServing()
  })

  it('does not let X-Forwarded-For from an untrusted address pick the rate-limit bucket', async () => {
    const limited = configSchema.parse({
      api: {
        internal: { host: '127.0.0.1', port: 0 },
        external: { host: '127.0.0.1', port: 0, rateLimit: { perSecond: 0.001, burst: 3 } }
      }
    }).api
    const other = new ApiServer(h.ports, { config: limited, drainMs: 200 })
    await other.start()
    try {
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${other.listening.external.url}/health`, {
          headers: { 'x-forwarded-for': `198.51.100.${i}` }
        })
        statuses.push(res.status)
        if (res.status === 429) {
          expect(await res.json()).toEqual({ error: 'Rate limit exceeded', retry_after: expect.any(Number) })
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
        } else await res.arrayBuffer()
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429])
    } finally {
      await other.stop()
    }
    await stillServing()
  })

  it('refuses a burst past the limit with 429 at the configured point, then serves again after Retry-After', async () => {
    const limited = configSchema.parse({
      api: {
        internal: { host: '127.0.0.1', port: 0 },
        external: { host: '127.0.0.1', port: 0, rateLimit: { perSecond: 0.5, burst: 5 } }
      }
    }).api
    const other = new ApiServer(h.ports, { config: limited, drainMs: 200 })
    await other.start()
    try {
      const url = `${other.listening.external.url}/health`
      // One token per 2 s: the burst cannot earn a token back even on a slow machine.
      const burst = await Promise.all(Array.from({ length: 8 }, () => fetch(url)))
      const statuses = burst.map((r) => r.status).sort()
      await Promise.all(burst.map((r) => r.arrayBuffer()))
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
      const refused = await fetch(url)
      expect(refused.status).toBe(429)
      const { retry_after } = (await refused.json()) as { retry_after: number }
      await new Promise((resolve) => setTimeout(resolve, retry_after * 1000 + 10))
      expect((await fetch(url)).status).toBe(200)
    } finally {
      await other.stop()
    }
  })

  it('never sends a stack trace, even for an unexpected failure', async () => {
    const original = h.ports.network.stats
    h.ports.network.stats = async () => {
      throw new TypeError(
        "Cannot read properties of undefined (reading 'x') at /srv/dmn/node/p2p/stats.ts:10"
      )
    }
    try {
      const res = await fetch(`${base}/network/stats`, { headers: { 'x-api-key': key } })
      expect(res.status).toBe(500)
      const text = await res.text()
      expect(text).toBe('{"error":"Internal server error","code":"internal"}')
    } finally {
      h.ports.network.stats = original
    }
    await stillServing()
  })
})
