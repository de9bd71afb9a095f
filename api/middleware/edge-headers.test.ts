import { Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { describe, expect, it } from 'vitest'
import type { ApiEnv } from '../context.ts'
import { EDGE_HEADERS, edgeHeaders } from './edge-headers.ts'

describe('edge headers', () => {
  it('are the headers hono/secure-headers sets with the node options, plus no-store, on JSON, text and error answers', async () => {
    const reference = new Hono()
    reference.use(
      secureHeaders({
        contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
        strictTransportSecurity: 'max-age=63072000; includeSubDomains',
        crossOriginResourcePolicy: 'same-origin'
      })
    )
    reference.get('/', (c) => c.text('x'))
    const expected = [...(await reference.request('/')).headers.entries()].filter(
      ([name]) => name !== 'content-type'
    )
    const app = new Hono<ApiEnv>()
    app.use(edgeHeaders())
    app.get('/json', (c) => c.json({ ok: true }))
    app.get('/text', (c) => c.text('x'))
    app.get('/boom', () => {
      throw new Error('boom')
    })
    app.onError((_err, c) => c.json({ error: 'Internal server error' }, 500))
    for (const path of ['/json', '/text', '/boom', '/missing']) {
      const headers = (await app.request(path)).headers
      for (const [name, value] of expected) expect(headers.get(name), `${path} ${name}`).toBe(value)
      expect(headers.get('cache-control')).toBe('no-store')
    }
    expect(EDGE_HEADERS).toHaveLength(expected.length + 1)
  })
})
