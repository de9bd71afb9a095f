import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { IdempotencyStore } from '../node/core/idempotency.ts'
import { createExternalApp } from './external-app.ts'
import { createHarness, type Harness } from './test-support/fakes.ts'
import { ETH } from './test-support/external-fixture.ts'
import { send } from './test-support/request.ts'

/**
 * The share routes keep their `Idempotency-Key` answer inside the share's own transaction (the
 * harness's share service runs `alsoInTransaction` in a transaction on its SQLite file, as the node
 * does); every other answer is kept by the middleware once it is given, as before.
 */

let h: Harness
let key: string
/** For each write of a kept answer: whether a transaction was open on the database then. */
let writes: boolean[]
let app: ReturnType<typeof createExternalApp>

beforeEach(() => {
  h = createHarness()
  writes = []
  const store = h.ports.idempotency
  const watched: IdempotencyStore = {
    find: (scope, k, notBeforeMs) => store.find(scope, k, notBeforeMs),
    keep: (scope, k, kept, nowMs) => {
      writes.push(h.db.inTransaction)
      store.keep(scope, k, kept, nowMs)
    },
    prune: (beforeMs) => store.prune(beforeMs)
  }
  app = createExternalApp(
    { ...h.ports, idempotency: watched },
    { rateLimit: { perSecond: 1000, burst: 1000 }, trustedProxies: [], bodyLimitBytes: 1_200_000 }
  )
  key = h.ports.apiKeys.create({ name: 'writer', scopes: ['share', 'read'] }).key
})
afterEach(() => h.close())

describe('the answer of a share route under an Idempotency-Key', () => {
  it.each([
    ['/share_data', null],
    ['/v1/shares', /^\/v1\/shares\/[0-9a-f]{32}$/]
  ])(
    'is kept once, inside the share transaction, and replayed byte for byte (%s)',
    async (path, location) => {
      const headers = { 'idempotency-key': `in-transaction ${path}` }
      const body = { data: 'kept with its share', recipient: ETH }
      const first = await send(app, path, { body, key, headers })
      expect(first.status).toBe(201)
      expect(writes).toEqual([true])
      const again = await send(app, path, { body, key, headers })
      expect(again.status).toBe(201)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(again.text).toBe(first.text)
      expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'))
      if (location) {
        expect(first.headers.get('location')).toMatch(location)
        expect(again.headers.get('location')).toBe(first.headers.get('location'))
      } else expect(first.headers.get('location')).toBeNull()
      // The replay ran nothing and wrote nothing.
      expect(h.recorded.shareCalls).toHaveLength(1)
      expect(writes).toEqual([true])
    }
  )

  it('answers the same bytes without a key, and keeps other answers after they are given', async () => {
    const plain = await send(app, '/v1/shares', { body: { data: 'no key', recipient: ETH }, key })
    expect(plain.status).toBe(201)
    expect(plain.headers.get('content-type')).toBe('application/json')
    expect(plain.headers.get('location')).toBe(`/v1/shares/${(plain.json['share'] as { id: string }).id}`)
    expect(writes).toEqual([])
    // A validation failure is kept by the middleware, after the answer, outside any transaction.
    const headers = { 'idempotency-key': 'invalid body' }
    const invalid = await send(app, '/share_data', { body: { data: 'x', recipient: 'nobody' }, key, headers })
    expect(invalid.status).toBe(422)
    expect(writes).toEqual([false])
    const again = await send(app, '/share_data', { body: { data: 'x', recipient: 'nobody' }, key, headers })
    expect(again.text).toBe(invalid.text)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
  })
})
