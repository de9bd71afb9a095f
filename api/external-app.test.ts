import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Harness } from './test-support/fakes.ts'
import { ETH, type ExternalApp, externalFixture } from './test-support/external-fixture.ts'
import { send } from './test-support/request.ts'

let h: Harness
let app: ExternalApp
let key: string
let readKey: string

beforeEach(() => {
  ;({ h, app, key, readKey } = externalFixture())
})
afterEach(() => h.close())

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
      '/v1/audit/{data_hash}/bundle',
      '/v1/network/peers'
    ]) {
      expect(doc.paths).toHaveProperty([path])
    }
    const share = doc.components.schemas['ShareRequest']
    expect(share?.properties['payment_token']?.['pattern']).toBe('^0x[a-fA-F0-9]{40}$')
    expect(share?.properties['security_tier']?.['enum']).toEqual(['standard', 'high', 'maximum'])
    // Why a share's tx_hash is null, beside it in both share shapes.
    for (const name of ['ShareDataResponse', 'Share']) {
      expect(doc.components.schemas[name]?.properties['tx_hash_pending_reason']?.['enum']).toEqual([
        'awaiting_chain',
        'batch',
        'anchored_by_sender',
        'audit_failed',
        'recipient_unresolved',
        null
      ])
    }
    // Every delivery state is documented, `unresolved` first.
    expect(doc.components.schemas['ShareStatus']?.properties['delivery']?.['enum']).toEqual([
      'unresolved',
      'queued',
      'delivering',
      'delivered',
      'failed',
      'received'
    ])
  })
})

describe('body encoding', () => {
  it('refuses a JSON body that is not valid UTF-8 instead of storing replacement characters', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"data":"a'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`","recipient":"${ETH}"}`)
    ])
    const post = (path: string) =>
      app.request(
        path,
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: bytes },
        { incoming: { socket: { remoteAddress: '203.0.113.7' } } } as never
      )
    const v1 = await post('/v1/shares')
    expect(v1.status).toBe(400)
    expect(await v1.json()).toMatchObject({ code: 'malformed_json', field: 'body' })
    // The anchor's path answers as the anchor, which cannot decode it either: "Invalid JSON body".
    const anchor = await post('/share_data')
    expect(anchor.status).toBe(422)
    expect(await anchor.json()).toEqual({ error: 'Invalid JSON body', code: 'malformed_json', field: null })
    expect(h.recorded.shareCalls).toHaveLength(0)
  })
})
