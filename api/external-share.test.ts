import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createExternalApp } from './external-app.ts'
import { type Harness, PEER_B, UNKNOWN_ETH } from './test-support/fakes.ts'
import { ETH, type ExternalApp, externalFixture, HELLO_HASH } from './test-support/external-fixture.ts'
import { send } from './test-support/request.ts'

let h: Harness
let app: ExternalApp
let key: string

beforeEach(() => {
  ;({ h, app, key } = externalFixture())
})
afterEach(() => h.close())

describe('POST /share_data (anchor-compatible)', () => {
  it('accepts a share with 201 and the anchor fields, tx_hash null until the chain is reached', async () => {
    const r = await send(app, '/share_data', { body: { data: 'hello', recipient: ETH }, key })
    expect(r.status).toBe(201)
    expect(r.json).toMatchObject({
      success: true,
      tx_hash: null,
      tx_hash_pending_reason: 'awaiting_chain',
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
    [{ data: 'x', recipient: ETH, payment_token: '0xnothex', payment_amount: 1 }, 'payment_token'],
    [{ data: 'x', recipient: ETH, payment_token: ETH, payment_amount: 0 }, 'payment_amount'],
    [{ data: 'x', recipient: ETH, payment_token: ETH, payment_amount: -5 }, 'payment_amount'],
    [{ data: 'x', recipient: ETH, payment_token: ETH, payment_amount: 1.5 }, 'payment_amount'],
    [
      { data: 'x', recipient: ETH, payment_token: ETH, payment_amount: '1000000000000000000000000000001' },
      'payment_amount'
    ],
    [{ data: 'x', recipient: ETH, payment_token: ETH, payment_amount: 1e30 }, 'payment_amount']
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

  it('answers 400 naming the body for malformed JSON on /v1/shares, and 422 for a JSON non-object', async () => {
    const bad = await send(app, '/v1/shares', { body: '{"data": "x", ', key })
    expect(bad.status).toBe(400)
    expect(bad.json).toEqual({
      error: 'request body is not valid JSON',
      code: 'malformed_json',
      field: 'body'
    })
    const arr = await send(app, '/v1/shares', { body: '[1,2]', key })
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
