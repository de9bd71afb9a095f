import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Harness } from './test-support/fakes.ts'
import { ETH, type ExternalApp, externalFixture, HELLO_HASH } from './test-support/external-fixture.ts'
import { send } from './test-support/request.ts'

let h: Harness
let app: ExternalApp
let readKey: string

beforeEach(() => {
  // A valid key exists, so an unknown one is told apart from a populated table.
  ;({ h, app, readKey } = externalFixture())
})
afterEach(() => h.close())

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

  it('does not look up a key that /health carries', async () => {
    const check = h.ports.apiKeys.check
    let lookups = 0
    h.ports.apiKeys.check = (presented) => {
      lookups += 1
      return check(presented)
    }
    expect((await send(app, '/health', { key: readKey })).status).toBe(200)
    expect(lookups).toBe(0)
    expect((await send(app, '/network/stats', { key: readKey })).status).toBe(200)
    expect(lookups).toBe(1)
  })

  it('needs no key for /health and /openapi.json', async () => {
    expect((await send(app, '/health')).status).toBe(200)
    expect((await send(app, '/openapi.json')).status).toBe(200)
  })
})
