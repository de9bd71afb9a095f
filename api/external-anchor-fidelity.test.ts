import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createExternalApp } from './external-app.ts'
import { type Harness, PEER_B } from './test-support/fakes.ts'
import { ETH, type ExternalApp, externalFixture, HELLO_HASH } from './test-support/external-fixture.ts'
import { send } from './test-support/request.ts'

/**
 * The anchor's paths answer as DataMgmt Node (Python)'s code does (cryptuon/datamgmtnode,
 * datamgmtnode/api/external_api.py, validation.py, rate_limiter.py, network/p2p_network.py). Each
 * test quotes the line of the anchor's code it holds us to.
 */

let h: Harness
let app: ExternalApp
let key: string
let readKey: string

beforeEach(() => {
  ;({ h, app, key, readKey } = externalFixture())
})
afterEach(() => h.close())

const share = (body: unknown, headers?: Record<string, string>) =>
  send(app, '/share_data', { body, key, ...(headers ? { headers } : {}) })

describe('POST /share_data as the anchor validates it', () => {
  // validation.py validate_data: `raise ValidationError(f"{field_name} cannot be empty", field_name)`
  it('refuses empty data with 422 {"error":"data cannot be empty","field":"data"}', async () => {
    const r = await share({ data: '', recipient: ETH })
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({ error: 'data cannot be empty', field: 'data' })
    expect(h.recorded.shareCalls).toHaveLength(0)
  })

  // external_api.py share_data: `except Exception: raise ValidationError("Invalid JSON body")`
  it.each([
    ['a truncated object', '{"data": "x", '],
    ['a trailing comma', '{"data":"x","recipient":"0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01",}'],
    ['an empty body', ''],
    ['NaN, which Python reads but JSON does not have', '{"data":"x","payment_amount":NaN}']
  ])('answers 422 {"error":"Invalid JSON body","field":null} for %s', async (_what, body) => {
    const r = await share(body)
    expect(r.status).toBe(422)
    expect(r.json).toEqual({ error: 'Invalid JSON body', code: 'malformed_json', field: null })
  })

  it('answers "Invalid JSON body" to a request with no body and no Content-Type', async () => {
    const r = await send(app, '/share_data', { method: 'POST', key })
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({ error: 'Invalid JSON body', field: null })
  })

  // validation.py validate_share_data_request: `if not isinstance(data, dict): raise
  // ValidationError("Request body must be a JSON object")` (no field).
  it.each(['[1,2]', '"text"', '42', 'null', 'true'])(
    'answers 422 {"error":"Request body must be a JSON object","field":null} for %s',
    async (body) => {
      const r = await share(body)
      expect(r.status).toBe(422)
      expect(r.json).toEqual({
        error: 'Request body must be a JSON object',
        code: 'body_not_object',
        field: null
      })
    }
  )

  // validation.py validate_eth_address: `address = address.strip()`
  it('trims spaces around the recipient before validating it, and answers the trimmed address', async () => {
    const r = await share({ data: 'hello', recipient: `  ${ETH}\t\n` })
    expect(r.status).toBe(201)
    expect(r.json['recipient']).toBe(ETH)
    expect(h.recorded.shareCalls).toEqual([{ recipient: ETH, tier: 'standard', bytes: 5 }])
  })

  // validation.py: `payment_amount = validate_amount(data.get('payment_amount'), 'payment_amount')`
  // after a payment_token, and validate_amount: `raise ValidationError(f"{field_name} is required", field_name)`
  it('refuses payment_token without payment_amount with 422 on payment_amount, before any 501', async () => {
    const r = await share({ data: 'x', recipient: ETH, payment_token: ETH })
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({ error: 'payment_amount is required', field: 'payment_amount' })
  })

  // validation.py: `elif data.get('payment_amount') is not None: raise ValidationError("payment_token
  // is required when payment_amount is provided", 'payment_token')`
  it('refuses payment_amount without payment_token with 422 on payment_token, before any 501', async () => {
    const r = await share({ data: 'x', recipient: ETH, payment_amount: 5 })
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({
      error: 'payment_token is required when payment_amount is provided',
      field: 'payment_token'
    })
  })

  // validation.py: `if data.get('payment_token') is not None` — a JSON null is no payment field.
  it('takes null payment fields as absent', async () => {
    const r = await share({ data: 'hello', recipient: ETH, payment_token: null, payment_amount: null })
    expect(r.status).toBe(201)
  })

  // validation.py validate_amount: `if amount_int > 10 ** 30: raise ValidationError(f"{field_name}
  // exceeds maximum allowed value", field_name)` — so 10^30 itself passes.
  it('accepts payment_amount of exactly 10^30, as a JSON integer and as digits, and refuses 10^30 + 1', async () => {
    const body = (amount: string) =>
      `{"data":"x","recipient":"${ETH}","payment_token":"${ETH}","payment_amount":${amount}}`
    for (const amount of ['1000000000000000000000000000000', '"1000000000000000000000000000000"']) {
      const r = await share(body(amount))
      // Past validation, a payment is answered 501 (payments are not implemented), never ignored.
      expect(r.status, amount).toBe(501)
      expect(r.json['code']).toBe('payments_not_implemented')
    }
    for (const amount of ['1000000000000000000000000000001', '"1000000000000000000000000000001"']) {
      const r = await share(body(amount))
      expect(r.status, amount).toBe(422)
      expect(r.json['field']).toBe('payment_amount')
    }
    expect(h.recorded.shareCalls).toHaveLength(0)
  })
})

describe('GET /verify_data/{hash} as the anchor answers it', () => {
  // external_api.py verify_data: `'event_type': 'data_share'`, whatever was found.
  it('says event_type "data_share", also for a hash the chain does not hold', async () => {
    await share({ data: 'hello', recipient: ETH })
    const known = await send(app, `/verify_data/${HELLO_HASH}`)
    expect(known.json).toMatchObject({ hash: HELLO_HASH, verified: true, event_type: 'data_share' })
    const unknown = await send(app, `/verify_data/${'1'.repeat(64)}`)
    expect(unknown.status).toBe(200)
    expect(unknown.json).toMatchObject({ verified: false, event_type: 'data_share', reason: 'not_found' })
  })

  // external_api.py: verify_data never calls `_verify_api_access`: verification by anyone.
  it('answers without a key, and with a key it does not look at', async () => {
    expect((await send(app, `/verify_data/${HELLO_HASH}`)).status).toBe(200)
    expect((await send(app, `/verify_data/${HELLO_HASH}`, { key: 'not-a-key' })).status).toBe(200)
    // Our /v1 keeps its own rules: a read key.
    expect((await send(app, `/v1/audit/${HELLO_HASH}`)).status).toBe(401)
  })
})

describe('GET /compliance_history as the anchor answers it', () => {
  const history = (query = '', k: string | undefined = readKey) =>
    send(app, `/compliance_history${query}`, k === undefined ? {} : { key: k })

  // external_api.py: `'filters': filters` with validate_filters: `if not filters_str: return None`
  // and `return filters if filters else None`.
  it.each(['', '?filters=', '?filters=%20,%20,'])('answers "filters": null for %j', async (query) => {
    const r = await history(query)
    expect(r.status).toBe(200)
    expect(r.json['filters']).toBeNull()
  })

  // compliance_manager.py: `events.append({'type': event_type, 'hash': event_hash, 'block': i, 'tx_hash': ...})`
  it("gives each item the anchor code's type, hash, block and tx_hash besides the documented keys", async () => {
    await share({ data: 'hello', recipient: ETH })
    const r = await history()
    const item = (r.json['history'] as Record<string, unknown>[])[0]
    expect(item).toMatchObject({
      type: 'data_share',
      hash: HELLO_HASH,
      block: 7,
      tx_hash: `0x${'ab'.repeat(32)}`,
      event_type: 'data_share',
      data_hash: HELLO_HASH,
      timestamp: expect.any(Number),
      block_number: 7
    })
  })

  it('names the recipient by the address the client sent', async () => {
    // Lowercase, unlike ETH: what the client sent, not a normalised form, nor the PeerId it resolved to.
    const sent = ETH.toLowerCase()
    await share({ data: 'hello', recipient: ` ${sent} ` })
    const item = ((await history()).json['history'] as Record<string, unknown>[])[0]
    expect(item?.['recipient']).toBe(sent)
    await send(app, '/v1/shares', { body: { data: 'peer', recipient: PEER_B }, key })
    const items = (await history()).json['history'] as Record<string, unknown>[]
    expect(items.map((i) => i['recipient'])).toEqual([PEER_B, sent])
  })

  // validation.py: `filters = [f.strip() for f in filters_str.split(',') if f.strip()]`
  it('trims the filter items and drops empty ones', async () => {
    const r = await history('?filters=%20data_share%20,,delivery_receipt%20')
    expect(r.status).toBe(200)
    expect(r.json['filters']).toEqual(['data_share', 'delivery_receipt'])
  })

  // validation.py: `if len(f) > 100: raise ValidationError(f"Filter '{f[:20]}...' exceeds maximum length", 'filters')`
  it('refuses a filter item over 100 characters with 422 on filters, and takes one of 100', async () => {
    const long = await history(`?filters=data_share,${'a'.repeat(101)}`)
    expect(long.status).toBe(422)
    expect(long.json).toMatchObject({
      field: 'filters',
      error: `Filter '${'a'.repeat(20)}...' exceeds maximum length`
    })
    expect((await history(`?filters=${'a'.repeat(100)}`)).status).toBe(200)
  })

  // validation.py: `if not re.match(r'^[a-zA-Z0-9_-]+$', f): raise ValidationError(f"Filter '{f}' contains invalid characters", 'filters')`
  it('refuses a filter item with other characters with the anchor message', async () => {
    const r = await history('?filters=data.share')
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({
      field: 'filters',
      error: "Filter 'data.share' contains invalid characters"
    })
  })

  it('pages with limit and after, returning next_after until the last page', async () => {
    for (const data of ['a', 'b', 'c']) await share({ data, recipient: ETH })
    const seen: unknown[] = []
    let after: string | null = null
    for (let page = 0; page < 3; page++) {
      const r = await history(`?limit=1${after ? `&after=${after}` : ''}`)
      expect(r.status).toBe(200)
      expect(r.json['count']).toBe(1)
      seen.push(...(r.json['history'] as Record<string, unknown>[]).map((i) => i['block']))
      after = r.json['next_after'] as string | null
      if (page < 2) expect(after).toEqual(expect.any(String))
    }
    expect(after).toBeNull()
    expect(seen).toEqual([9, 8, 7])
    const all = await history('?limit=10')
    expect(all.json).toMatchObject({ count: 3, next_after: null })
  })

  it('refuses an unknown query parameter with 422 unknown_query_parameter naming it', async () => {
    const r = await history('?limt=5')
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({ code: 'unknown_query_parameter', field: 'limt' })
  })

  it('refuses a cursor it did not make with 422 on after', async () => {
    const r = await history('?after=abc')
    expect(r.status).toBe(422)
    expect(r.json['field']).toBe('after')
  })
})

describe('GET /network/* as the anchor answers it', () => {
  // p2p_network.py get_network_stats: 'active_peers', 'bootstrap_nodes', 'avg_latency_ms'
  it('gives the stats keys of the anchor code besides the documented ones', async () => {
    const r = await send(app, '/network/stats', { key: readKey })
    expect(r.json).toMatchObject({
      total_peers: 2,
      healthy_peers: 1,
      data_sent: 2048,
      data_received: 1024,
      uptime: 12,
      active_peers: 1,
      bootstrap_nodes: 1,
      // `sum(p['latency_ms'] for p in healthy) / len(healthy) if healthy else 0`: one healthy peer at 1.5 ms.
      avg_latency_ms: 1.5
    })
  })

  // p2p_network.py get_connected_peers: {'host', 'port', 'node_id', 'last_seen', 'latency_ms',
  // 'success_rate', 'healthy'}, `sorted(peers, key=lambda p: -p['last_seen'])`
  it("lists peers as the anchor code's peer objects, most recently seen first", async () => {
    const r = await send(app, '/network/peers', { key: readKey })
    expect(r.json['count']).toBe(2)
    const peers = r.json['peers'] as Record<string, unknown>[]
    expect(peers[0]).toEqual({
      host: '127.0.0.1',
      port: 4002,
      node_id: PEER_B,
      last_seen: Date.parse('2026-11-23T00:00:00.000Z') / 1000,
      latency_ms: 1.5,
      success_rate: 1,
      healthy: true
    })
    expect(peers[1]).toMatchObject({ latency_ms: 0, success_rate: 0.25, healthy: false })
  })

  // external_api.py get_peers: `request.query.get('healthy', 'false').lower() == 'true'`
  it.each([
    ['true', 1],
    ['TRUE', 1],
    ['True', 1],
    ['false', 2],
    ['1', 2],
    ['yes', 2],
    ['maybe', 2],
    ['', 2]
  ])('reads healthy=%s as the anchor does (%i peers)', async (value, count) => {
    const r = await send(app, `/network/peers?healthy=${value}`, { key: readKey })
    expect(r.status).toBe(200)
    expect(r.json['count']).toBe(count)
  })
})

describe('keys on the read paths', () => {
  const paths = ['/compliance_history', '/network/stats', '/network/peers']

  it('need a key with the read scope by default', async () => {
    for (const path of paths) {
      expect((await send(app, path)).status, path).toBe(401)
      expect((await send(app, path, { key: readKey })).status, path).toBe(200)
    }
  })

  // external_api.py: get_compliance_history, get_network_stats and get_peers never call `_verify_api_access`.
  it('answer anyone when openAnchorReads is set, as the anchor does, and nothing else opens', async () => {
    const open = createExternalApp(h.ports, {
      rateLimit: { perSecond: 1000, burst: 1000 },
      trustedProxies: [],
      bodyLimitBytes: 1_200_000,
      openAnchorReads: true
    })
    for (const path of paths) {
      expect((await send(open, path)).status, path).toBe(200)
      expect((await send(open, path, { key: 'not-a-key' })).status, path).toBe(200)
    }
    expect((await send(open, '/v1/network/stats')).status).toBe(401)
    expect((await send(open, '/v1/audit')).status).toBe(401)
    expect((await send(open, `/data/${HELLO_HASH}`)).status).toBe(401)
    expect((await send(open, '/share_data', { body: { data: 'x', recipient: ETH } })).status).toBe(401)
  })
})

describe('rate limits per client address behind a trusted proxy', () => {
  // rate_limiter.py buckets per client IP; ours takes the client from X-Forwarded-For only when the
  // socket peer is a trusted proxy (api/middleware/client-address.ts).
  it('gives each forwarded client its own address bucket, and caps one holding many keys', async () => {
    const proxied = createExternalApp(h.ports, {
      rateLimit: { perSecond: 0.001, burst: 2 },
      trustedProxies: ['10.0.0.1'],
      bodyLimitBytes: 4096
    })
    const keys = Array.from(
      { length: 3 },
      (_, i) => h.ports.apiKeys.create({ name: `p${i}`, scopes: ['read'] }).key
    )
    const via = (client: string, k: string) =>
      send(proxied, '/network/stats', { key: k, remote: '10.0.0.1', headers: { 'x-forwarded-for': client } })
    const one = []
    for (const k of keys) one.push((await via('192.0.2.10', k)).status)
    expect(one).toEqual([200, 200, 429])
    // Another client through the same proxy, with the third key (its key bucket still full).
    expect((await via('192.0.2.20', keys[2] as string)).status).toBe(200)
  })
})
