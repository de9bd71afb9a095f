import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createInternalApp } from './internal-app.ts'
import { createHarness, type Harness } from './test-support/fakes.ts'
import { send } from './test-support/request.ts'

let h: Harness
let shutdown: AbortController
let app: ReturnType<typeof createInternalApp>

beforeEach(() => {
  h = createHarness()
  shutdown = new AbortController()
  app = createInternalApp(h.ports, {
    rateLimit: { perSecond: 1000, burst: 1000 },
    trustedProxies: [],
    bodyLimitBytes: 64 * 1024,
    binding: { host: '127.0.0.1', allowedHosts: [], bound: () => ({ address: '127.0.0.1', port: 80 }) },
    requireAdminKey: false,
    shutdown: shutdown.signal
  })
})
afterEach(() => {
  shutdown.abort()
  h.close()
})

describe('/webhooks', () => {
  it('creates a subscription from the latest event on, with a secret in that answer only', async () => {
    h.ports.securityLog.append('config.changed', {})
    const latest = h.ports.eventLog.latestId()
    const r = await send(app, '/webhooks', {
      body: { url: 'http://127.0.0.1:9000/in', event_types: ['share.'] }
    })
    expect(r.status).toBe(201)
    expect(r.json).toMatchObject({ state: 'active', cursor: latest, event_types: ['share.'], attempts: 0 })
    expect(String(r.json['secret'])).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(r.headers.get('location')).toBe(`/webhooks/${r.json['id']}`)
    const list = await send(app, '/webhooks')
    expect(list.status).toBe(200)
    expect(list.text).not.toContain(String(r.json['secret']))
    expect((list.json['webhooks'] as unknown[]).length).toBe(1)
    const logged = h.recorded.security.filter((e) => e.kind === 'config.changed')
    expect(logged.at(-1)?.detail).toMatchObject({
      change: 'webhook.created',
      webhook_id: r.json['id'],
      url: 'http://127.0.0.1:9000/in'
    })
    expect(JSON.stringify(h.recorded.security)).not.toContain(String(r.json['secret']))
  })

  it("refuses the node's own API (422 webhook_url_refused) and invalid fields (422 validation_failed)", async () => {
    const own = await send(app, '/webhooks', { body: { url: 'http://localhost/' } })
    expect(own.status).toBe(422)
    expect(own.json).toMatchObject({ code: 'webhook_url_refused', field: 'url' })
    const types = await send(app, '/webhooks', {
      body: { url: 'http://127.0.0.1:9000/', event_types: ['Share!'] }
    })
    expect(types.status).toBe(422)
    expect(types.json).toMatchObject({ code: 'validation_failed', field: 'event_types.0' })
    const extra = await send(app, '/webhooks', { body: { url: 'http://127.0.0.1:9000/', secret: 'whsec_x' } })
    expect(extra.status).toBe(422)
    expect((await send(app, '/webhooks')).json['webhooks']).toEqual([])
  })

  it('pauses, resumes and deletes; 404 for an id it does not hold', async () => {
    const { json } = await send(app, '/webhooks', { body: { url: 'http://127.0.0.1:9000/' } })
    const id = String(json['id'])
    expect((await send(app, `/webhooks/${id}/pause`, { method: 'POST' })).json['state']).toBe('paused')
    expect((await send(app, `/webhooks/${id}/resume`, { method: 'POST' })).json['state']).toBe('active')
    expect((await send(app, `/webhooks/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(h.recorded.security.map((e) => e.detail['change'])).toEqual([
      'webhook.created',
      'webhook.paused',
      'webhook.resumed',
      'webhook.deleted'
    ])
    const missing = await send(app, `/webhooks/${id}/pause`, { method: 'POST' })
    expect(missing.status).toBe(404)
    expect(missing.json).toMatchObject({ code: 'not_found', resource: 'webhook' })
    expect((await send(app, '/webhooks/nope', { method: 'DELETE' })).status).toBe(422)
  })
})
