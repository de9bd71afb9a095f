import { request } from 'node:http'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ClusterNode,
  type LocalCluster,
  startLocalCluster
} from '../../node/cli/commands/demo-cluster.ts'

/**
 * A web page the operator opens can reach a loopback API: by DNS rebinding (its own name resolving
 * to 127.0.0.1, so `Host` and `Origin` name the attacker) or by cross-site requests that need no
 * preflight. Against a running node on real sockets, with the headers a browser sends (node:http,
 * since fetch() does not let a caller set `Host`).
 */

const ARBITRARY_PEER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

let cluster: LocalCluster
let node: ClusterNode
let internalPort: number
let externalPort: number
let own: string

interface Reply {
  readonly status: number
  readonly json: Record<string, unknown>
}

/** One request with exactly these headers on a fresh connection. */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false })
    req.once('error', reject)
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') ? JSON.parse(text) : {} })
      })
    })
    req.end(body)
  })
}

/** What curl or the CLI sends: the API's own Host, nothing a browser would add. */
const plain = (method: string, path: string, body?: unknown) =>
  raw(
    internalPort,
    method,
    path,
    { host: own, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body === undefined ? undefined : JSON.stringify(body)
  )

const keyNames = async () => {
  const list = await plain('GET', '/api-keys')
  expect(list.status).toBe(200)
  return (list.json['api_keys'] as { name: string }[]).map((k) => k.name)
}
const primaryVersion = async () => (await plain('GET', '/keyring')).json['primary_version']
const trustOf = async (peerId: string) => {
  const peers = (await plain('GET', '/peers')).json['peers'] as { peer_id: string; trust: string }[]
  return peers.find((p) => p.peer_id === peerId)?.trust
}
const refusals = () =>
  node.node.audit.securityLog
    .list({ kind: 'request.refused', limit: 1000 })
    .map((row) => JSON.parse(row.detail) as Record<string, unknown>)

beforeAll(async () => {
  cluster = await startLocalCluster({
    names: ['a'],
    logger: pino({ level: 'silent' }),
    internalAllowedHosts: ['dmn.test']
  })
  node = cluster.nodes[0] as ClusterNode
  internalPort = node.node.api.listening.internal.port
  externalPort = node.node.api.listening.external.port
  own = `127.0.0.1:${internalPort}`
}, 120_000)

afterAll(async () => {
  await cluster?.stop()
})

describe('the internal API against a browser, on real sockets', () => {
  it('refuses the DNS-rebinding POST /api-keys and creates no key', async () => {
    // The headers as sent, and the same at the port the API really listens on.
    for (const host of ['rebind.evil.example:8080', `rebind.evil.example:${internalPort}`]) {
      const r = await raw(
        internalPort,
        'POST',
        '/api-keys',
        { host, origin: `http://${host}`, 'content-type': 'application/json' },
        JSON.stringify({ name: 'x', scopes: ['admin'] })
      )
      expect(r.status, host).toBe(403)
      expect(r.json).toEqual({ error: expect.any(String), code: 'host_not_allowed' })
      expect(r.json).not.toHaveProperty('key')
    }
    expect(await keyNames()).not.toContain('x')
    expect(refusals().at(-1)).toMatchObject({
      code: 'host_not_allowed',
      reason: 'host_foreign',
      method: 'POST',
      path: '/api-keys',
      host: `rebind.evil.example:${internalPort}`,
      origin: `http://rebind.evil.example:${internalPort}`
    })
    // The same request with the API's own Host does create the key: the list above can see one.
    const created = await plain('POST', '/api-keys', { name: 'legit', scopes: ['read'] })
    expect(created.status).toBe(201)
    expect(await keyNames()).toContain('legit')
  })

  it('refuses the DNS-rebinding GET /api-keys without listing anything', async () => {
    const host = `rebind.evil.example:${internalPort}`
    const r = await raw(internalPort, 'GET', '/api-keys', { host, origin: `http://${host}` })
    expect(r.status).toBe(403)
    expect(r.json).toEqual({ error: expect.any(String), code: 'host_not_allowed' })
  })

  it('refuses a cross-site POST /keyring/rotate with text/plain; the key ring stays at its version', async () => {
    const before = await primaryVersion()
    expect(before).toEqual(expect.any(Number))
    const r = await raw(internalPort, 'POST', '/keyring/rotate', {
      host: own,
      origin: 'http://evil.example',
      'content-type': 'text/plain'
    })
    expect(r.status).toBe(403)
    expect(r.json['code']).toBe('cross_origin_refused')
    // A form without Origin (an old browser) is refused for its type.
    const form = await raw(internalPort, 'POST', '/keyring/rotate', {
      host: own,
      'content-type': 'text/plain'
    })
    expect(form.status).toBe(415)
    expect(form.json['code']).toBe('content_type_refused')
    expect(await primaryVersion()).toBe(before)
    // curl -X POST, with no body and no Content-Type, still rotates.
    expect((await plain('POST', '/keyring/rotate')).status).toBe(200)
    expect(await primaryVersion()).toBe((before as number) + 1)
  })

  it('refuses a cross-site POST /peers/<PeerId>/allow with text/plain; the peer is not allowlisted', async () => {
    const r = await raw(internalPort, 'POST', `/peers/${ARBITRARY_PEER}/allow`, {
      host: own,
      origin: 'http://evil.example',
      'content-type': 'text/plain'
    })
    expect(r.status).toBe(403)
    expect(r.json['code']).toBe('cross_origin_refused')
    expect(await trustOf(ARBITRARY_PEER)).toBeUndefined()
    expect(refusals().at(-1)).toMatchObject({
      code: 'cross_origin_refused',
      reason: 'origin_foreign',
      path: `/peers/${ARBITRARY_PEER}/allow`,
      origin: 'http://evil.example'
    })
    expect((await plain('POST', `/peers/${ARBITRARY_PEER}/allow`)).status).toBe(200)
    expect(await trustOf(ARBITRARY_PEER)).toBe('allowlisted')
  })

  it('refuses Sec-Fetch-Site cross-site and Origin: null even with the right Host', async () => {
    const site = await raw(internalPort, 'GET', '/api-keys', { host: own, 'sec-fetch-site': 'cross-site' })
    expect(site.status).toBe(403)
    expect(site.json['code']).toBe('cross_origin_refused')
    const sandboxed = await raw(internalPort, 'POST', '/keyring/rotate', {
      host: own,
      origin: 'null',
      'content-type': 'application/json'
    })
    expect(sandboxed.status).toBe(403)
    expect(sandboxed.json['code']).toBe('cross_origin_refused')
  })

  it('answers a plain request for its own address, localhost and a configured host', async () => {
    for (const host of [own, `localhost:${internalPort}`, `dmn.test:${internalPort}`]) {
      const r = await raw(internalPort, 'GET', '/api-keys', { host })
      expect(r.status, host).toBe(200)
      expect(r.json['api_keys'], host).toEqual(expect.any(Array))
    }
    // A page of the API's own origin (the operator's browser on it) is answered too.
    const page = await raw(internalPort, 'GET', '/keyring', {
      host: `localhost:${internalPort}`,
      origin: `http://localhost:${internalPort}`,
      'sec-fetch-site': 'same-origin'
    })
    expect(page.status).toBe(200)
  })

  it('counts refusals in the request metrics', async () => {
    const metrics = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: internalPort, path: '/metrics', headers: { host: own } })
      req.once('error', reject)
      req.once('response', (res) => {
        let text = ''
        res.on('data', (c) => {
          text += String(c)
        })
        res.once('end', () => resolve(text))
      })
      req.end()
    })
    expect(metrics).toMatch(
      /dmn_http_requests_total\{api="internal",method="POST",route="\/\*",status="403"\} [1-9]/
    )
  })

  it('leaves the external API as it was: it answers a foreign Host', async () => {
    const host = `rebind.evil.example:${externalPort}`
    const health = await raw(externalPort, 'GET', '/health', { host, origin: `http://${host}` })
    expect(health.status).toBe(200)
    const share = await raw(externalPort, 'POST', '/share_data', {
      host,
      origin: 'http://evil.example',
      'content-type': 'text/plain'
    })
    // The external API's own answer (no key), not a browser refusal.
    expect(share.status).toBe(401)
    expect(share.json['code']).toBe('api_key_missing')
  })
})
