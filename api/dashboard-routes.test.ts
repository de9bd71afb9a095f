import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createInternalApp } from './internal-app.ts'
import { createHarness, type Harness, PEER_B } from './test-support/fakes.ts'

/** The dashboard's page and assets and the operator's share reads, on app.request(); test/e2e/dashboard.test.ts has the browser. */

const HOST = '127.0.0.1:8080'
let h: Harness
let shutdown: AbortController

beforeEach(() => {
  h = createHarness()
  shutdown = new AbortController()
})
afterEach(() => {
  shutdown.abort()
  h.close()
})

function internal(requireAdminKey = false) {
  return createInternalApp(h.ports, {
    rateLimit: { perSecond: 1000, burst: 1000 },
    trustedProxies: [],
    bodyLimitBytes: 64 * 1024,
    requireAdminKey,
    shutdown: shutdown.signal,
    binding: { host: '127.0.0.1', allowedHosts: [], bound: () => ({ address: '127.0.0.1', port: 8080 }) }
  })
}

function get(app: ReturnType<typeof internal>, path: string, headers: Record<string, string> = {}) {
  return app.request(`http://${HOST}${path}`, { headers: { host: HOST, ...headers } }, {
    incoming: { socket: { remoteAddress: '127.0.0.1' } }
  } as never)
}

/** The page's asset and vendor URLs, and its import map. */
function linksOf(page: string): { assets: string[]; importMap: string } {
  const assets = [...page.matchAll(/(?:href|src)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1] as string)
  const importMap = /<script type="importmap">([^<]*)<\/script>/.exec(page)?.[1] ?? ''
  return { assets, importMap }
}

describe('GET /dashboard', () => {
  it('serves the page under a strict CSP that allows only this origin and the import map by its hash', async () => {
    const res = await get(internal(), '/dashboard')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const page = await res.text()
    const { importMap } = linksOf(page)
    const hash = createHash('sha256').update(importMap).digest('base64')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`)
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe')
    // Only one inline script: the import map. The app itself is an external module.
    expect(page.match(/<script/g)).toHaveLength(2)
    expect(page).toMatch(/<script type="module" src="\/dashboard\/assets\/[0-9a-f]{16}\/app\.js"><\/script>/)
    expect(JSON.parse(importMap).imports).toEqual({
      preact: '/dashboard/vendor/preact@11.2.0/preact.mjs',
      'preact/hooks': '/dashboard/vendor/preact@11.2.0/hooks.mjs',
      htm: '/dashboard/vendor/htm@3.1.1/htm.mjs'
    })
  })

  it('serves every asset the page and its modules name, with its content type, immutable', async () => {
    const app = internal()
    const page = await (await get(app, '/dashboard')).text()
    const { assets, importMap } = linksOf(page)
    const urls = [...assets, ...Object.values(JSON.parse(importMap).imports as Record<string, string>)]
    const base = assets.find((a) => a.endsWith('/app.js'))?.replace(/\/app\.js$/, '') as string
    // The modules' relative imports, followed from app.js.
    const seen = new Set<string>()
    const queue = [`${base}/app.js`]
    while (queue.length > 0) {
      const url = queue.pop() as string
      if (seen.has(url)) continue
      seen.add(url)
      const res = await get(app, url)
      expect(res.status, url).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
      const text = await res.text()
      for (const m of text.matchAll(/from '(\.[^']+)'/g))
        queue.push(new URL(m[1] as string, `http://x${url}`).pathname)
    }
    expect(seen.size).toBeGreaterThan(5)
    for (const url of urls) {
      const res = await get(app, url)
      expect(res.status, url).toBe(200)
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(res.headers.get('content-type')).toMatch(
        url.endsWith('.css') ? /^text\/css/ : /^text\/javascript/
      )
    }
  })

  it('answers 404 for an asset of another build or a file that is not shipped', async () => {
    const app = internal()
    expect((await get(app, '/dashboard/assets/0000000000000000/app.js')).status).toBe(404)
    expect((await get(app, '/dashboard/vendor/preact@11.2.0/../../package.json')).status).toBe(404)
    expect((await get(app, '/dashboard/vendor/preact@1.0.0/preact.mjs')).status).toBe(404)
  })

  it('off loopback, serves the page without a key while its data keeps needing an admin key', async () => {
    const app = internal(true)
    expect((await get(app, '/dashboard')).status).toBe(200)
    expect((await get(app, '/shares')).status).toBe(401)
    expect((await get(app, '/id')).status).toBe(401)
    const { key } = h.ports.apiKeys.create({ name: 'ops', scopes: ['admin'], expiresAt: null })
    expect((await get(app, '/shares', { 'x-api-key': key })).status).toBe(200)
  })

  it('is still behind the browser guard: a foreign Host gets no page', async () => {
    const res = await get(internal(), '/dashboard', { host: 'rebind.evil.example:8080' })
    expect(res.status).toBe(403)
  })
})

describe('operator share reads', () => {
  it('lists shares, reads one, and answers the verification of its data hash', async () => {
    const app = internal()
    const view = await h.ports.shares.share({
      data: new TextEncoder().encode('hello'),
      recipient: PEER_B,
      tier: 'standard'
    })
    const list = (await (await get(app, '/shares?state=queued')).json()) as { shares: { id: string }[] }
    expect(list.shares.map((s) => s.id)).toEqual([view.shareId])
    expect((await (await get(app, '/shares?state=delivered')).json()) as unknown).toMatchObject({ count: 0 })
    const one = (await (await get(app, `/shares/${view.shareId}`)).json()) as { share: { data_hash: string } }
    expect(one.share.data_hash).toBe(view.dataHash)
    expect((await get(app, `/shares/${'0'.repeat(32)}`)).status).toBe(404)
    const verify = await get(app, `/audit/${view.dataHash}/verify`)
    expect(verify.status).toBe(200)
    expect(await verify.json()).toMatchObject({ hash: view.dataHash })
  })

  it('documents the new paths in the OpenAPI document', async () => {
    const doc = (await (await get(internal(), '/openapi.json')).json()) as { paths: Record<string, unknown> }
    for (const path of ['/shares', '/shares/{share_id}', '/audit/{data_hash}/verify', '/dashboard'])
      expect(doc.paths).toHaveProperty([path])
  })
})
