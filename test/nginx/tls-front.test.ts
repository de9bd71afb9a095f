import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:tls'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handshake, json, send } from './client.ts'
import { SERVER_NAME, type Stack, startStack } from './stack.ts'

/**
 * nginx/dmn.conf rendered and run by real nginx in front of a real node's external API: TLS,
 * redirect, headers, the body limit, and which paths are proxied.
 */

let stack: Stack
let control: Server
let controlPort: number

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'"
}

beforeAll(async () => {
  stack = await startStack({ nodeRateLimit: { perSecond: 10, burst: 40 } })
  // The control: a TLS server with the same certificate that accepts every version and suite the
  // client probes below offer, so a refusal by nginx is nginx's doing, not the client's.
  const tlsDir = stack.certDir
  control = createServer({
    cert: readFileSync(join(tlsDir, `${SERVER_NAME}.fullchain.pem`)),
    key: readFileSync(join(tlsDir, `${SERVER_NAME}.key`)),
    minVersion: 'TLSv1',
    ciphers: 'ALL:@SECLEVEL=0'
  })
  control.on('secureConnection', (socket) => socket.end())
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve))
  controlPort = (control.address() as { port: number }).port
})

afterAll(async () => {
  await new Promise((r) => control?.close(r))
  const dir = stack?.nginx.dir
  await stack?.stop()
  if (dir) expect(() => readFileSync(join(dir, 'nginx.conf'))).toThrow()
})

describe('nginx TLS front', () => {
  it("serves the node's /health over HTTPS with a certificate chain the local CA verifies", async () => {
    const r = await send(stack.https, { path: '/health' })
    expect(r.status).toBe(200)
    expect(json(r)).toMatchObject({ status: 'healthy', p2p: { running: true } })
    // server_tokens off: no version to fingerprint.
    expect(r.headers['server']).toBe('nginx')
    await expect(
      send(
        {
          port: stack.nginx.httpsPort,
          tls: { ca: readFileSync(join(stack.certDir, 'ca.crt'), 'utf8'), servername: 'other.test' }
        },
        { path: '/health' }
      )
    ).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  })

  it('redirects plain HTTP to HTTPS with 308, keeping path and query, without proxying', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await send(stack.http, {
        method,
        path: '/share_data?x=1',
        headers: { host: SERVER_NAME, 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined
      })
      expect(r.status).toBe(308)
      expect(r.headers['location']).toBe(`https://${SERVER_NAME}:${stack.nginx.httpsPort}/share_data?x=1`)
      expect(r.headers['x-ratelimit-limit']).toBeUndefined()
    }
  })

  it('refuses TLS 1.0 and 1.1 and accepts TLS 1.2 and 1.3', async () => {
    const tls = { ca: readFileSync(join(stack.certDir, 'ca.crt'), 'utf8'), servername: SERVER_NAME }
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const old = { ...tls, minVersion: version, maxVersion: version, ciphers: 'ALL:@SECLEVEL=0' }
      expect(await handshake(controlPort, old)).toMatchObject({ ok: true, protocol: version })
      expect(await handshake(stack.nginx.httpsPort, old)).toMatchObject({ ok: false })
    }
    expect(
      await handshake(stack.nginx.httpsPort, { ...tls, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })
    ).toMatchObject({
      ok: true,
      protocol: 'TLSv1.2',
      cipher: expect.stringMatching(/^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/)
    })
    expect(
      await handshake(stack.nginx.httpsPort, { ...tls, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })
    ).toMatchObject({
      ok: true,
      protocol: 'TLSv1.3'
    })
  })

  it('refuses TLS 1.2 suites without forward secrecy or without AEAD', async () => {
    const tls = { ca: readFileSync(join(stack.certDir, 'ca.crt'), 'utf8'), servername: SERVER_NAME }
    for (const ciphers of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'AES128-GCM-SHA256']) {
      const probe = {
        ...tls,
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        ciphers: `${ciphers}:@SECLEVEL=0`
      } as const
      // AES128-GCM-SHA256 (RSA key exchange) needs an RSA key: the ECDSA certificate refuses it anyway.
      if (ciphers !== 'AES128-GCM-SHA256')
        expect(await handshake(controlPort, probe)).toMatchObject({ ok: true })
      expect(await handshake(stack.nginx.httpsPort, probe), ciphers).toMatchObject({ ok: false })
    }
  })

  it("sends HSTS and the security headers once each, on the node's answers and on nginx's own", async () => {
    for (const path of ['/health', '/not-an-api-path']) {
      const r = await send(stack.https, { path })
      for (const [name, value] of Object.entries(SECURITY_HEADERS))
        expect(r.headers[name], `${path} ${name}`).toBe(value)
      expect(r.headers['cache-control']).toBe('no-store')
    }
  })

  it('proxies an authenticated POST /share_data and reads the record back', async () => {
    const recipient = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const key = stack.apiKey(['share', 'read'])
    const data = `through nginx ${Date.now()} ünïcödé`
    const shared = await send(stack.https, {
      method: 'POST',
      path: '/share_data',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ data, recipient })
    })
    expect(shared.status).toBe(201)
    const body = json(shared)
    expect(body).toMatchObject({
      success: true,
      recipient,
      data_hash: expect.stringMatching(/^[0-9a-f]{64}$/)
    })
    const read = await send(stack.https, {
      path: `/data/${body['data_hash']}`,
      headers: { 'x-api-key': key }
    })
    expect(read.status).toBe(200)
    expect(json(read)).toMatchObject({ hash: body['data_hash'], data })
    const anonymous = await send(stack.https, { method: 'POST', path: '/share_data', body: '{}' })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('X-API-Key')
  })

  it("answers a body over the node's limit with nginx's 413, and passes a body at the limit to the node", async () => {
    const key = stack.apiKey(['share'])
    const headers = { 'content-type': 'application/json', 'x-api-key': key }
    const limit = stack.bodyLimitBytes
    // Not JSON: at the limit the node itself must answer (422 as the anchor answers it on its path),
    // which proves nginx passed it whole.
    const atLimit = await send(stack.https, {
      method: 'POST',
      path: '/share_data',
      headers,
      body: Buffer.alloc(limit, 0x61)
    })
    expect(atLimit.status).toBe(422)
    expect(json(atLimit)).toMatchObject({ error: 'Invalid JSON body', code: 'malformed_json', field: null })
    expect(atLimit.headers['x-ratelimit-limit']).toBeDefined()
    for (const chunked of [false, true]) {
      const over = await send(stack.https, {
        method: 'POST',
        path: '/share_data',
        headers: chunked ? { ...headers, 'transfer-encoding': 'chunked' } : headers,
        body: Buffer.alloc(limit + 1, 0x61)
      })
      expect(over.status).toBe(413)
      expect(json(over)).toEqual({
        error: 'Payload too large',
        code: 'payload_too_large',
        limit_bytes: limit
      })
      // Answered by nginx: the node's rate limiter, which marks every answer it lets by, never saw it.
      expect(over.headers['x-ratelimit-limit']).toBeUndefined()
    }
  })

  it('does not proxy any path of the internal API, and routes every path of the external one', async () => {
    const internal = json(
      await send({ port: stack.node.api.listening.internal.port }, { path: '/openapi.json' })
    )
    const external = json(await send(stack.https, { path: '/openapi.json' }))
    const internalPaths = Object.keys(internal['paths'] as object)
    const externalPaths = Object.keys(external['paths'] as object)
    expect(externalPaths).toContain('/share_data')
    expect(internalPaths).toContain('/api-keys')
    const fill = (path: string) => path.replace(/\{[^}]+\}/g, 'a'.repeat(64))
    // Each request from its own loopback address: no per-address limit of nginx or the node is in play.
    let client = 0
    const from = () => `127.0.1.${++client}`
    for (const path of internalPaths.filter((p) => !externalPaths.includes(p))) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const r = await send(stack.https, { method, path: fill(path), from: from() })
        expect(r.status, `${method} ${path}`).toBe(404)
        expect(json(r)).toEqual({ error: 'Not found', code: 'not_found' })
        expect(r.headers['x-ratelimit-limit'], `${method} ${path}`).toBeUndefined()
      }
    }
    // Names both APIs have answer with the external API's version.
    const health = json(await send(stack.https, { path: '/health' }))
    expect(health).not.toHaveProperty('components')
    for (const path of externalPaths) {
      const r = await send(stack.https, { path: fill(path), from: from() })
      expect(r.headers['x-ratelimit-limit'], path).toBeDefined()
    }
  })
})
