import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExternalApp } from '../../api/external-app.ts'
import { createInternalApp } from '../../api/internal-app.ts'
import { createHarness, type Harness } from '../../api/test-support/fakes.ts'

/**
 * `/docs` in headless Chromium (Debian's), over real sockets: Swagger UI runs under the page's
 * Content-Security-Policy (a violation is a console error), draws every operation of the document,
 * and asks nothing of any origin but the API's own.
 */

const CHROMIUM = '/usr/bin/chromium'
// CI installs it; a developer machine without it skips this file.
const haveChromium = existsSync(CHROMIUM) || process.env['CI'] === 'true'

let h: Harness
let browser: Browser
const servers: ServerType[] = []
const shutdown = new AbortController()
const urls: Record<'external' | 'internal', string> = { external: '', internal: '' }

async function listen(fetch: Parameters<typeof serve>[0]['fetch']): Promise<string> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' })
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  if (!haveChromium) return
  h = createHarness()
  const settings = { rateLimit: { perSecond: 1000, burst: 1000 }, trustedProxies: [], bodyLimitBytes: 65_536 }
  urls.external = await listen(createExternalApp(h.ports, settings).fetch)
  let port = 0
  const internal = createInternalApp(h.ports, {
    ...settings,
    requireAdminKey: false,
    shutdown: shutdown.signal,
    binding: { host: '127.0.0.1', allowedHosts: [], bound: () => ({ address: '127.0.0.1', port }) }
  })
  urls.internal = await listen(internal.fetch)
  port = Number(new URL(urls.internal).port)
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update'
    ]
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  shutdown.abort()
  for (const s of servers) s.close()
  h?.close()
})

describe.skipIf(!haveChromium)('/docs in Chromium', () => {
  for (const api of ['external', 'internal'] as const) {
    it(`draws every operation of the ${api} document with no policy violation and no foreign request`, async () => {
      const base = urls[api]
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, object> }
      const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0)
      const page = await browser.newPage()
      const problems: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
      })
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
      page.on('request', (r) => {
        if (!r.url().startsWith(`${base}/`)) problems.push(`foreign request: ${r.url()}`)
      })
      await page.goto(`${base}/docs`)
      await page.waitForSelector('.opblock', { timeout: 30_000 })
      expect(await page.locator('.opblock').count()).toBe(operations)
      expect(await page.locator('.info .title').innerText()).toContain(`DataMgmt Node ${api} API`)
      expect(problems).toEqual([])
      await page.close()
    }, 60_000)
  }
})
