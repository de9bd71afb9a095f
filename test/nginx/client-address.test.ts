import { createServer, type IncomingHttpHeaders } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { json, send } from './client.ts'
import { type Stack, startStack } from './stack.ts'

/**
 * Who the node believes the client is, behind real nginx: the address nginx saw, forwarded in
 * X-Forwarded-For and believed only because the node trusts 127.0.0.1 as its proxy; and nginx's own
 * limit_req in front of the node's token buckets.
 */

let stack: Stack
// A slow refill: within one test the node's per-address bucket only empties.
const NODE_BURST = 8

beforeAll(async () => {
  stack = await startStack({ nodeRateLimit: { perSecond: 0.5, burst: NODE_BURST } })
})

afterAll(async () => {
  await stack?.stop()
})

/** An unauthenticated request the node answers 401 (and logs as auth.failure with the client). */
const probe = (from: string, spoofed: string) => ({
  path: '/v1/network/stats',
  from,
  headers: { 'x-forwarded-for': spoofed, 'x-real-ip': spoofed, forwarded: `for=${spoofed}` }
})

describe('client address behind nginx', () => {
  it('rate-limits by the address nginx saw, never by a spoofed X-Forwarded-For', async () => {
    const seq = stack.securityLogHead()
    const statuses: number[] = []
    // Every request claims another origin; were the claim believed, each would get a fresh bucket.
    for (let i = 0; i < NODE_BURST + 4; i++) {
      statuses.push((await send(stack.https, probe('127.0.0.2', `198.51.100.${i + 1}`))).status)
    }
    expect(statuses.slice(0, NODE_BURST)).toEqual(Array(NODE_BURST).fill(401))
    expect(statuses.slice(NODE_BURST)).toContain(429)
    // The node's 429, not nginx's: its limiter logged it, under the address nginx forwarded.
    const hits = stack.securityLog('rate_limit.hit', seq)
    expect(hits.length).toBeGreaterThan(0)
    for (const hit of hits) expect(hit).toMatchObject({ bucket: 'ip:127.0.0.2', client: '127.0.0.2' })
    const failures = stack.securityLog('auth.failure', seq)
    expect(failures.length).toBe(statuses.filter((s) => s === 401).length)
    for (const failure of failures) expect(failure['client']).toBe('127.0.0.2')
    // Another client through the same nginx connection source has its own bucket.
    expect((await send(stack.https, probe('127.0.0.3', '198.51.100.1'))).status).toBe(401)
  })

  it('forwards the address it saw and the scheme, and drops every forwarding header the client sent', async () => {
    // An upstream that answers with what it received, in place of the node.
    const echo = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ headers: req.headers, peer: req.socket.remoteAddress }))
    })
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
    try {
      const front = await stack.startNginx({ upstreamPort: (echo.address() as { port: number }).port })
      const r = await send(
        { ...stack.https, port: front.httpsPort },
        {
          path: '/health',
          from: '127.0.0.8',
          headers: {
            'x-forwarded-for': '198.51.100.8, 10.0.0.1',
            'x-real-ip': '198.51.100.8',
            forwarded: 'for=198.51.100.8;proto=http',
            'x-forwarded-proto': 'http',
            'x-forwarded-host': 'evil.example',
            proxy: 'http://198.51.100.8:3128'
          }
        }
      )
      const seen = json(r) as { headers: IncomingHttpHeaders; peer: string }
      expect(seen.peer).toBe('127.0.0.1')
      expect(seen.headers).toMatchObject({
        'x-forwarded-for': '127.0.0.8',
        'x-real-ip': '127.0.0.8',
        'x-forwarded-proto': 'https'
      })
      for (const dropped of ['forwarded', 'x-forwarded-host', 'proxy'])
        expect(seen.headers).not.toHaveProperty(dropped)
    } finally {
      await new Promise((r) => echo.close(r))
    }
  })

  it('ignores X-Forwarded-For from a client that reaches the node directly', async () => {
    const seq = stack.securityLogHead()
    const r = await send(stack.direct, probe('127.0.0.4', '198.51.100.77'))
    expect(r.status).toBe(401)
    expect(stack.securityLog('auth.failure', seq).map((f) => f['client'])).toEqual(['127.0.0.4'])
  })

  it('sees every client as nginx when the node does not trust the proxy', async () => {
    const untrusting = await stack.startApi({ trustedProxies: [] })
    const front = await stack.startNginx({ upstreamPort: untrusting.port })
    const https = { ...stack.https, port: front.httpsPort }
    const seq = stack.securityLogHead()
    expect((await send(https, probe('127.0.0.5', '198.51.100.5'))).status).toBe(401)
    expect(stack.securityLog('auth.failure', seq).map((f) => f['client'])).toEqual(['127.0.0.1'])
  })

  it("answers a burst beyond limit_req with 429, the anchor's JSON body and Retry-After, before the node", async () => {
    const front = await stack.startNginx({ upstreamPort: stack.direct.port, rateLimit: '1r/s', rateBurst: 3 })
    const https = { ...stack.https, port: front.httpsPort }
    const seq = stack.securityLogHead()
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => send(https, { path: '/health', from: '127.0.0.6' }))
    )
    const limited = replies.filter((r) => r.status === 429)
    const passed = replies.filter((r) => r.status === 200)
    expect(limited.length + passed.length).toBe(replies.length)
    expect(passed.length).toBeGreaterThan(0)
    expect(limited.length).toBeGreaterThan(0)
    for (const r of limited) {
      expect(json(r)).toEqual({ error: 'Rate limit exceeded', retry_after: 1 })
      expect(r.headers['content-type']).toBe('application/json')
      expect(r.headers['retry-after']).toBe('1')
      expect(r.headers['strict-transport-security']).toBeDefined()
    }
    // nginx refused them: the node's limiter logged nothing and never held them back.
    expect(stack.securityLog('rate_limit.hit', seq)).toEqual([])
    for (const r of passed) expect(r.headers['retry-after']).toBeUndefined()
    // Another address is not affected by this client's burst.
    expect((await send(https, { path: '/health', from: '127.0.0.7' })).status).toBe(200)
  })
})
