import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createExternalApp } from './external-app.ts'
import { createHarness, type Harness, PEER_B, UNKNOWN_ETH } from './test-support/fakes.ts'
import { send } from './test-support/request.ts'

const ETH = '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01'
const HELLO_HASH = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

let h: Harness
let app: ReturnType<typeof createExternalApp>
let key: string
let readKey: string

beforeEach(() => {
  h = createHarness()
  app = createExternalApp(h.ports, {
    rateLimit: { perSecond: 1000, burst: 1000 },
    trustedProxies: [],
    bodyLimitBytes: 1_200_000
  })
  key = h.ports.apiKeys.create({ name: 'writer', scopes: ['share', 'read'] }).key
  readKey = h.ports.apiKeys.create({ name: 'reader', scopes: ['read'] }).key
})
afterEach(() => h.close())

describe('POST /share_data (anchor-compatible)', () => {
  it('accepts a share with 201 and the anchor fields, tx_hash null until the chain is reached', async () => {
    const r = await send(app, '/share_data', { body: { data: 'hello', recipient: ETH }, key })
    expect(r.status).toBe(201)
    expect(r.json).toMatchObject({
      success: true,
      tx_hash: null,
      recipient: ETH,
      data_hash: HELLO_HASH,
      status: { delivery: 'queued', audit: 'pending' },
      _metadata: { security_tier: 'standard', attestation: null }
    })
    expect(r.json['share_id']).toMatch(/^[0-9a-f]{32}$/)
    expect(h.recorded.shareCalls).toEqual([{ recipient: ETH, tier: 'standard', bytes: 5 }])
  })

  it('passes the security tier through and reports it in _metadata', async () => {
    const r = await send(app, '/share_data', {
      body: { data: 'x', recipient: PEER_B, security_tier: 'high' },
      key
    })
    expect(r.status).toBe(201)
    expect((r.json['_metadata'] as Record<string, unknown>)['security_tier']).toBe('high')
    expect(h.recorded.shareCalls[0]?.tier).toBe('high')
  })

  it.each([
    [{ data: 'x', recipient: '0x123' }, 'recipient'],
    [{ data: 'x', recipient: 42 }, 'recipient'],
    [{ data: 7, recipient: ETH }, 'data'],
    [{ recipient: ETH }, 'data'],
    [{ data: 'x' }, 'recipient'],
    [{ data: 'x', recipient: ETH, security_tier: 'ultra' }, 'security_tier'],
    [{ data: 'bad \ud800 surrogate', recipient: ETH }, 'data'],
    [{ data: 'x', recipient: ETH, payment_token: '0xnothex' }, 'payment_token'],
    [{ data: 'x', recipient: ETH, payment_amount: 0 }, 'payment_amount'],
    [{ data: 'x', recipient: ETH, payment_amount: -5 }, 'payment_amount'],
    [{ data: 'x', recipient: ETH, payment_amount: 1.5 }, 'payment_amount'],
    [{ data: 'x', recipient: ETH, payment_amount: '1000000000000000000000000000000' }, 'payment_amount'],
    [{ data: 'x', recipient: ETH, payment_amount: 1e30 }, 'payment_amount']
  ])('answers 422 naming the field for %j', async (body, field) => {
    const r = await send(app, '/share_data', { body, key })
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({ code: 'validation_failed', field })
    expect(typeof r.json['error']).toBe('string')
    expect(h.recorded.shareCalls).toHaveLength(0)
  })

  it('refuses data over 1 MiB counted in UTF-8 bytes, even when it has fewer characters', async () => {
    const data = 'é'.repeat(512 * 1024 + 1) // 2 bytes each: 1 MiB + 2 bytes, half as many characters
    const r = await send(app, '/share_data', { body: { data, recipient: ETH }, key })
    expect(r.status).toBe(422)
    expect(r.json['field']).toBe('data')
  })

  it('validates payment fields, then answers 501 instead of ignoring them', async () => {
    const r = await send(app, '/share_data', {
      body: { data: 'x', recipient: ETH, payment_token: ETH, payment_amount: 1000000000000000000 },
      key
    })
    expect(r.status).toBe(501)
    expect(r.json['code']).toBe('payments_not_implemented')
    expect(h.recorded.shareCalls).toHaveLength(0)
  })

  it('answers 400 naming the body for malformed JSON and 422 for a JSON non-object', async () => {
    const bad = await send(app, '/share_data', { body: '{"data": "x", ', key })
    expect(bad.status).toBe(400)
    expect(bad.json).toEqual({
      error: 'request body is not valid JSON',
      code: 'malformed_json',
      field: 'body'
    })
    const arr = await send(app, '/share_data', { body: '[1,2]', key })
    expect(arr.status).toBe(422)
    expect(arr.json['field']).toBe('body')
  })

  it('answers 415 for a body that is not declared as JSON', async () => {
    const r = await send(app, '/share_data', {
      body: 'data=x',
      key,
      headers: { 'content-type': 'application/x-www-form-urlencoded' }
    })
    expect(r.status).toBe(415)
  })

  it('answers 413 from Content-Length before reading a body over the limit', async () => {
    const small = createExternalApp(h.ports, {
      rateLimit: { perSecond: 1000, burst: 1000 },
      trustedProxies: [],
      bodyLimitBytes: 2048
    })
    const r = await send(small, '/share_data', {
      body: JSON.stringify({ data: 'x'.repeat(4096), recipient: ETH }),
      key
    })
    expect(r.status).toBe(413)
    expect(r.json).toMatchObject({ code: 'payload_too_large', limit_bytes: 2048 })
  })

  it('maps an unknown recipient to 422 on the recipient field', async () => {
    const r = await send(app, '/share_data', { body: { data: 'x', recipient: UNKNOWN_ETH }, key })
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({ code: 'unknown_recipient', field: 'recipient' })
  })
})

describe('authentication and scopes', () => {
  it.each([
    ['missing', undefined, 'api_key_missing'],
    ['malformed', 'not-a-key', 'api_key_invalid'],
    ['unknown', `dmn_0123456789abcdef_${'A'.repeat(43)}`, 'api_key_invalid'],
    ['oversized', 'k'.repeat(10_000), 'api_key_invalid']
  ])('answers 401 with a stable body for a %s key', async (_, presented, code) => {
    const r = await send(app, '/data/' + HELLO_HASH, presented === undefined ? {} : { key: presented })
    expect(r.status).toBe(401)
    expect(r.json).toEqual({ error: 'Unauthorized. Provide valid X-API-Key header.', code })
    expect(r.headers.get('www-authenticate')).toBe('X-API-Key')
    expect(h.recorded.security.at(-1)?.kind).toBe('auth.failure')
  })

  it('answers 401 api_key_expired once the key has expired', async () => {
    const { key: shortLived } = h.ports.apiKeys.create({
      name: 'short',
      scopes: ['read'],
      expiresAt: new Date(h.clock.now.getTime() + 60_000)
    })
    expect((await send(app, '/network/stats', { key: shortLived })).status).toBe(200)
    h.clock.now = new Date(h.clock.now.getTime() + 61_000)
    const r = await send(app, '/network/stats', { key: shortLived })
    expect(r.status).toBe(401)
    expect(r.json['code']).toBe('api_key_expired')
  })

  it('answers 401 api_key_revoked after revocation', async () => {
    const { key: k, info } = h.ports.apiKeys.create({ name: 'gone', scopes: ['read'] })
    h.ports.apiKeys.revoke(info.id)
    const r = await send(app, '/network/stats', { key: k })
    expect(r.status).toBe(401)
    expect(r.json['code']).toBe('api_key_revoked')
    expect(h.recorded.security.at(-1)).toMatchObject({
      kind: 'auth.failure',
      detail: { reason: 'revoked', key_id: info.id }
    })
  })

  it('answers 403 when the key lacks the scope, and logs it', async () => {
    const r = await send(app, '/share_data', { body: { data: 'x', recipient: ETH }, key: readKey })
    expect(r.status).toBe(403)
    expect(r.json).toMatchObject({ code: 'scope_missing', required_scope: 'share' })
    expect(h.recorded.security.at(-1)).toMatchObject({ kind: 'auth.failure', detail: { reason: 'scope' } })
  })

  it('logs every successful authentication', async () => {
    await send(app, '/network/stats', { key: readKey })
    expect(h.recorded.security.at(-1)).toMatchObject({ kind: 'auth.success', detail: { scope: 'read' } })
  })

  it('lets an admin key use every scope', async () => {
    const { key: admin } = h.ports.apiKeys.create({ name: 'root', scopes: ['admin'] })
    const r = await send(app, '/share_data', { body: { data: 'x', recipient: ETH }, key: admin })
    expect(r.status).toBe(201)
  })

  it('needs no key for /health and /openapi.json', async () => {
    expect((await send(app, '/health')).status).toBe(200)
    expect((await send(app, '/openapi.json')).status).toBe(200)
  })
})

describe('reading', () => {
  it('GET /data/{hash} returns the record as the anchor does, and 404 for an unknown hash', async () => {
    await send(app, '/share_data', { body: { data: 'hello', recipient: ETH }, key })
    const r = await send(app, `/data/${HELLO_HASH.toUpperCase()}`, { key: readKey })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ hash: HELLO_HASH, data: 'hello', encoding: 'utf8', size_bytes: 5 })
    const missing = await send(app, `/data/${'0'.repeat(64)}`, { key: readKey })
    expect(missing.status).toBe(404)
    expect(missing.json).toMatchObject({ error: 'Data not found', code: 'not_found' })
  })

  it.each(['abc', 'g'.repeat(64), '..%2F..%2Fetc%2Fpasswd', `${'a'.repeat(64)}%00`])(
    'answers 422 on data_hash for %s',
    async (hash) => {
      const r = await send(app, `/data/${hash}`, { key: readKey })
      expect(r.status).toBe(422)
      expect(r.json['field']).toBe('data_hash')
    }
  )

  it('GET /verify_data/{hash} answers {hash, verified, event_type, evidence}', async () => {
    await send(app, '/share_data', { body: { data: 'hello', recipient: ETH }, key })
    const r = await send(app, `/verify_data/${HELLO_HASH}`, { key: readKey })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({
      hash: HELLO_HASH,
      verified: true,
      event_type: 'data_share',
      evidence: { block_number: 7, confirmations: 1, merkle_root: null }
    })
    const unknown = await send(app, `/verify_data/${'1'.repeat(64)}`, { key: readKey })
    expect(unknown.json).toMatchObject({ verified: false, event_type: null, evidence: null })
  })

  it('GET /compliance_history filters by event type and echoes the filters', async () => {
    await send(app, '/share_data', { body: { data: 'a', recipient: ETH }, key })
    await send(app, '/share_data', { body: { data: 'b', recipient: ETH }, key })
    const all = await send(app, '/compliance_history', { key: readKey })
    expect(all.json).toMatchObject({ count: 2, filters: [] })
    const some = await send(app, '/compliance_history?filters=data_share', { key: readKey })
    expect(some.json).toMatchObject({ count: 1, filters: ['data_share'] })
    const history = some.json['history'] as Record<string, unknown>[]
    expect(history[0]).toMatchObject({ event_type: 'data_share', tx_hash: `0x${'ab'.repeat(32)}` })
    const bad = await send(app, '/compliance_history?filters=<script>', { key: readKey })
    expect(bad.status).toBe(422)
    expect(bad.json['field']).toBe('filters')
  })

  it('GET /network/stats has the anchor fields', async () => {
    const r = await send(app, '/network/stats', { key: readKey })
    expect(r.json).toMatchObject({
      total_peers: 2,
      healthy_peers: 1,
      data_sent: 2048,
      data_received: 1024,
      uptime: 12
    })
  })

  it('GET /network/peers lists PeerIds, only healthy ones with ?healthy=true', async () => {
    const all = await send(app, '/network/peers', { key: readKey })
    expect(all.json['count']).toBe(2)
    const healthy = await send(app, '/network/peers?healthy=true', { key: readKey })
    expect(healthy.json).toMatchObject({ peers: [PEER_B], count: 1 })
    const bad = await send(app, '/network/peers?healthy=maybe', { key: readKey })
    expect(bad.status).toBe(422)
    expect(bad.json['field']).toBe('healthy')
  })
})

describe('/v1 resources', () => {
  it('POST /v1/shares creates a share with a Location, GET /v1/shares/{id} reads it back', async () => {
    const created = await send(app, '/v1/shares', { body: { data: 'hello', recipient: PEER_B }, key })
    expect(created.status).toBe(201)
    const share = created.json['share'] as Record<string, unknown>
    expect(created.headers.get('location')).toBe(`/v1/shares/${share['id']}`)
    expect(share).toMatchObject({ data_hash: HELLO_HASH, recipient: PEER_B, security_tier: 'standard' })
    const read = await send(app, `/v1/shares/${share['id']}`, { key: readKey })
    expect(read.status).toBe(200)
    expect(read.json['share']).toEqual(share)
    expect((await send(app, `/v1/shares/${'f'.repeat(32)}`, { key: readKey })).status).toBe(404)
    expect((await send(app, '/v1/shares/nope', { key: readKey })).status).toBe(422)
    const list = await send(app, '/v1/shares?state=queued&limit=5', { key: readKey })
    expect(list.json['count']).toBe(1)
  })

  it('serves data, audit and network under /v1 from the same implementation', async () => {
    await send(app, '/v1/shares', { body: { data: 'hello', recipient: ETH }, key })
    expect((await send(app, `/v1/data/${HELLO_HASH}`, { key: readKey })).json['data']).toBe('hello')
    expect((await send(app, `/v1/audit/${HELLO_HASH}`, { key: readKey })).json['verified']).toBe(true)
    expect((await send(app, '/v1/audit?filters=data_share', { key: readKey })).json['count']).toBe(1)
    expect((await send(app, '/v1/network/stats', { key: readKey })).json['peer_id']).toBeTypeOf('string')
    const peers = await send(app, '/v1/network/peers?healthy=1', { key: readKey })
    expect(peers.json['peers']).toEqual([expect.objectContaining({ peer_id: PEER_B, healthy: true })])
  })
})

describe('edges', () => {
  it('sets secure headers and no-store on every answer', async () => {
    const r = await send(app, '/health')
    expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(r.headers.get('strict-transport-security')).toContain('max-age=')
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(r.headers.get('cache-control')).toBe('no-store')
  })

  it('answers an unexpected failure with 500 and no internals', async () => {
    h.ports.network.stats = async () => {
      throw new Error('SQLITE_CORRUPT at /var/lib/dmn/node.db line 42')
    }
    const r = await send(app, '/network/stats', { key: readKey })
    expect(r.status).toBe(500)
    expect(r.json).toEqual({ error: 'Internal server error', code: 'internal' })
    expect(r.text).not.toContain('SQLITE')
    expect(r.text).not.toContain('/var/lib')
  })

  it('answers unknown paths with a JSON 404', async () => {
    const r = await send(app, '/../../etc/passwd')
    expect(r.status).toBe(404)
    expect(r.json).toEqual({ error: 'Not found', code: 'not_found' })
  })

  it('reports unhealthy with 503 when the database probe is down', async () => {
    ;(h.ports.health as { name: string; check: () => Promise<unknown> }[])[0]!.check = async () => {
      throw new Error('disk gone')
    }
    const r = await send(app, '/health')
    expect(r.status).toBe(503)
    expect(r.json['status']).toBe('unhealthy')
  })
})

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1, lists anchor and /v1 paths, and carries the validation rules', async () => {
    const doc = (await send(app, '/openapi.json')).json as {
      openapi: string
      paths: Record<string, unknown>
      components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> }
    }
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/share_data',
      '/data/{data_hash}',
      '/verify_data/{data_hash}',
      '/compliance_history',
      '/network/stats',
      '/network/peers',
      '/health',
      '/v1/shares',
      '/v1/shares/{share_id}',
      '/v1/data/{data_hash}',
      '/v1/audit/{data_hash}',
      '/v1/network/peers'
    ]) {
      expect(doc.paths).toHaveProperty([path])
    }
    const share = doc.components.schemas['ShareRequest']
    expect(share?.properties['payment_token']?.['pattern']).toBe('^0x[a-fA-F0-9]{40}$')
    expect(share?.properties['security_tier']?.['enum']).toEqual(['standard', 'high', 'maximum'])
  })
})

describe('body encoding', () => {
  it('refuses a JSON body that is not valid UTF-8 instead of storing replacement characters', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"data":"a'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`","recipient":"${ETH}"}`)
    ])
    const res = await app.request(
      '/share_data',
      { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: bytes },
      { incoming: { socket: { remoteAddress: '203.0.113.7' } } } as never
    )
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'malformed_json', field: 'body' })
    expect(h.recorded.shareCalls).toHaveLength(0)
  })
})
