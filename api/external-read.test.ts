import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Harness, PEER_B } from './test-support/fakes.ts'
import { ETH, type ExternalApp, externalFixture, HELLO_HASH } from './test-support/external-fixture.ts'
import { send } from './test-support/request.ts'

let h: Harness
let app: ExternalApp
let key: string
let readKey: string

beforeEach(() => {
  ;({ h, app, key, readKey } = externalFixture())
})
afterEach(() => h.close())

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
    expect(r.json['shares']).toEqual([
      expect.objectContaining({ sender: expect.any(String), recipient: PEER_B, verified: true, reason: null })
    ])
    expect(r.json['refused']).toEqual([])
    const unknown = await send(app, `/verify_data/${'1'.repeat(64)}`, { key: readKey })
    expect(unknown.json).toMatchObject({
      verified: false,
      reason: 'not_found',
      // external_api.py answers 'event_type': 'data_share' whatever it found.
      event_type: 'data_share',
      evidence: null,
      shares: []
    })
  })

  it('GET /v1/audit/{hash}/bundle gives the evidence bundle, 404 when the node is party to no share of it', async () => {
    await send(app, '/share_data', { body: { data: 'hello', recipient: ETH }, key })
    const r = await send(app, `/v1/audit/${HELLO_HASH}/bundle`, { key: readKey })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ v: 1, kind: 'dmn-evidence-bundle', dataHash: HELLO_HASH })
    const none = await send(app, `/v1/audit/${'1'.repeat(64)}/bundle`, { key: readKey })
    expect(none.status).toBe(404)
    expect(none.json).toMatchObject({ code: 'not_found' })
    expect((await send(app, `/v1/audit/${HELLO_HASH}/bundle`)).status).toBe(401)
  })

  it('GET /compliance_history filters by event type and echoes the filters', async () => {
    await send(app, '/share_data', { body: { data: 'a', recipient: ETH }, key })
    await send(app, '/share_data', { body: { data: 'b', recipient: ETH }, key })
    const all = await send(app, '/compliance_history', { key: readKey })
    expect(all.json).toMatchObject({ count: 2, filters: null })
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

  it('GET /network/peers lists peers, only healthy ones with ?healthy=true', async () => {
    const all = await send(app, '/network/peers', { key: readKey })
    expect(all.json['count']).toBe(2)
    const healthy = await send(app, '/network/peers?healthy=true', { key: readKey })
    expect(healthy.json).toMatchObject({ peers: [expect.objectContaining({ node_id: PEER_B })], count: 1 })
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
