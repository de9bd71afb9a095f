import { existsSync, mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ClusterNode,
  introduce,
  type LocalCluster,
  startLocalCluster
} from '../../node/cli/commands/demo-cluster.ts'

/**
 * The operator dashboard in headless Chromium against two real nodes on a local chain: the pages
 * render the nodes' data, a share made through the external API appears live in the feed and the
 * shares list and opens to its verified evidence, the actions work (rotate, rewrap, an API key,
 * a webhook paused), and a page of another origin, or the page under a rebinding name, cannot drive
 * the API. Screenshots of the main pages are written under the test's temp dir; their paths are printed.
 */

const CHROMIUM = '/usr/bin/chromium'
const REBIND_NAME = 'rebind.dashboard.test'
const WAIT_MS = 20_000

let cluster: LocalCluster
let a: ClusterNode
let b: ClusterNode
let shareKey: string
let browser: Browser
let page: Page
let foreign: Server
let foreignUrl: string
let shotsDir: string
const pageErrors: string[] = []

async function internalJson<T>(node: ClusterNode, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${node.internalUrl}${path}`, init)
  expect(res.ok, `${path}: ${res.status}`).toBe(true)
  return (await res.json()) as T
}

async function shareToB(data: string): Promise<string> {
  const res = await fetch(`${a.externalUrl}/v1/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': shareKey },
    body: JSON.stringify({ data, recipient: b.peerId })
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { share: { id: string } }).share.id
}

async function shot(name: string): Promise<void> {
  const path = join(shotsDir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  console.log(`dashboard screenshot: ${path}`)
}

async function open(name: string): Promise<void> {
  await page.click(`nav a[data-page="${name}"]`)
  await page.waitForSelector(`[data-testid="page-${name}"]`, { timeout: WAIT_MS })
}

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian's chromium, scripts/install-system-deps.sh)`).toBe(true)
  shotsDir = mkdtempSync(join(tmpdir(), 'dmn-dashboard-'))
  // Another origin: an attacker's page the operator happens to open, and a webhook receiver.
  foreign = createServer((req, res) => {
    if (req.url?.startsWith('/hook')) {
      res.writeHead(204).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>')
  })
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve))
  foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`

  cluster = await startLocalCluster({
    names: ['a', 'b'],
    logger: pino({ level: 'silent' }),
    rateLimit: { perSecond: 1_000, burst: 1_000 }
  })
  ;[a, b] = cluster.nodes as [ClusterNode, ClusterNode]
  await introduce(a, b)
  const created = await internalJson<{ key: string }>(a, '/api-keys', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'app', scopes: ['share', 'read'] })
  })
  shareKey = created.key
  await shareToB('made before the page opened')

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      `--host-resolver-rules=MAP ${REBIND_NAME} 127.0.0.1`
    ]
  })
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } })
  page = await context.newPage()
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`)
  })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await cluster?.stop()
  await new Promise((resolve) => (foreign ? foreign.close(resolve) : resolve(undefined)))
})

describe('the operator dashboard in Chromium', { timeout: 120_000 }, () => {
  it('renders both nodes’ data, follows a new share live to its verified evidence, and its actions work', async () => {
    // Node: identity and health by component, the publisher.
    await page.goto(`${a.internalUrl}/dashboard`)
    await page.waitForSelector(`[data-testid="peer-id"]:text-is("${a.peerId}")`, { timeout: WAIT_MS })
    await page.waitForSelector('[data-testid="health-components"] tr[data-component="database"] .badge.good')
    await page.waitForSelector('[data-testid="publisher"]')
    await page.waitForSelector('[data-testid="feed-state"]:text-is("live")', { timeout: WAIT_MS })
    await shot('node')

    // Peers: B, verified on contact, connected.
    await open('peers')
    const peerRow = page.locator(`tr[data-peer="${b.peerId}"]`)
    await peerRow.waitFor({ timeout: WAIT_MS })
    expect(await peerRow.locator('td').nth(1).innerText()).not.toBe('unknown')
    await shot('peers')

    // Shares: a share made through the external API now appears without a reload.
    await open('shares')
    await page.waitForSelector('[data-testid="shares"] tbody tr')
    const shareId = await shareToB('made while the operator watches')
    const row = page.locator(`tr[data-share="${shareId}"]`)
    await row.waitFor({ timeout: WAIT_MS })
    await page
      .locator(`tr[data-share="${shareId}"] .badge:text-is("delivered")`)
      .waitFor({ timeout: WAIT_MS })
    // Filters: an outgoing share is not among the incoming ones.
    await page.selectOption('select[name="direction"]', 'in')
    await row.waitFor({ state: 'detached' })
    await page.selectOption('select[name="direction"]', 'out')
    await row.waitFor()
    await page.fill('input[name="search"]', shareId.slice(4, 20))
    expect(await page.locator('[data-testid="shares"] tbody tr').count()).toBe(1)
    await page.fill('input[name="search"]', '')
    await shot('shares')

    // Its detail: the verification on chain holds, and the evidence bundle is there.
    await row.locator('a').click()
    await page.waitForSelector('[data-testid="share-detail"]')
    await page.waitForSelector('[data-testid="verification"][data-verified="true"]', { timeout: 30_000 })
    await page.waitForSelector('[data-testid="bundle"]', { timeout: WAIT_MS })
    expect(await page.locator('[data-testid="bundle"]').innerText()).toContain(shareId)
    await shot('share-detail')

    // The feed had it live: accepted, delivered, confirmed on chain.
    await open('events')
    for (const type of ['share.accepted', 'share.delivered', 'audit.confirmed']) {
      await page
        .locator(`tr[data-type="${type}"] code[title="${shareId}"]`)
        .first()
        .waitFor({ timeout: WAIT_MS })
    }
    await shot('events')

    // The outbox and the publisher's lag.
    await open('audit')
    await page.waitForSelector('[data-testid="outbox"] tbody tr')
    await page.waitForSelector('[data-testid="lag"]')
    await shot('outbox')

    // Key ring: rotate, then rewrap every record under the new version, with its progress.
    await open('keyring')
    const before = Number(await page.locator('[data-testid="primary-version"]').innerText())
    await page.click('button[data-action="rotate"]')
    await page.waitForSelector(`[data-testid="primary-version"]:text-is("${before + 1}")`, {
      timeout: WAIT_MS
    })
    expect((await internalJson<{ primary_version: number }>(a, '/keyring')).primary_version).toBe(before + 1)
    await page.click('button[data-action="rewrap"]')
    await page.waitForSelector('[data-testid="rewrap-progress"]:has-text("done")', { timeout: WAIT_MS })
    const ring = await internalJson<{ records_by_version: Record<string, number> }>(a, '/keyring')
    expect(Object.keys(ring.records_by_version)).toEqual([String(before + 1)])
    expect(ring.records_by_version[String(before + 1)]).toBeGreaterThanOrEqual(2)
    await shot('keyring')

    // API keys: one created from the page is shown once and listed by the API.
    await open('access')
    await page.fill('input[name="key-name"]', 'made in the dashboard')
    await page.check('input[name="scope-share"]')
    await page.click('[data-testid="create-api-key"] button[type="submit"]')
    const secret = await page.locator('#api-keys [data-testid="secret"] code').innerText({ timeout: WAIT_MS })
    expect(secret).toMatch(/^dmn_/)
    const keys = await internalJson<{ api_keys: { name: string; scopes: string[] }[] }>(a, '/api-keys')
    expect(keys.api_keys.find((k) => k.name === 'made in the dashboard')?.scopes.sort()).toEqual([
      'read',
      'share'
    ])
    // The key works where it is meant to.
    const withKey = await fetch(`${a.externalUrl}/v1/shares`, { headers: { 'x-api-key': secret } })
    expect(withKey.status).toBe(200)

    // Webhooks: subscribe a receiver, then pause it from the page.
    await page.fill('input[name="webhook-url"]', `${foreignUrl}/hook`)
    await page.fill('input[name="webhook-types"]', 'share.')
    await page.click('[data-testid="create-webhook"] button[type="submit"]')
    await page.locator('#webhooks [data-testid="secret"] code').waitFor({ timeout: WAIT_MS })
    const hookRow = page.locator('[data-testid="webhooks"] tbody tr').first()
    await hookRow.locator('button:text-is("pause")').click()
    await hookRow.locator('.badge:text-is("paused")').waitFor({ timeout: WAIT_MS })
    const hooks = await internalJson<{ webhooks: { url: string; state: string }[] }>(a, '/webhooks')
    expect(hooks.webhooks).toEqual([expect.objectContaining({ url: `${foreignUrl}/hook`, state: 'paused' })])
    await shot('access')

    // B sees the shares as incoming, from A.
    await page.goto(`${b.internalUrl}/dashboard#/shares`)
    await page.locator(`tr[data-share="${shareId}"]`).waitFor({ timeout: WAIT_MS })
    expect(await page.locator(`tr[data-share="${shareId}"] td`).nth(1).innerText()).toContain('in')
    await shot('shares-recipient')

    expect(pageErrors).toEqual([])
  })

  it('lets no page of another origin, and no rebinding name, drive the internal API', async () => {
    const keysBefore = (await internalJson<{ api_keys: unknown[] }>(a, '/api-keys')).api_keys.length
    const versionBefore = (await internalJson<{ primary_version: number }>(a, '/keyring')).primary_version
    const attacker = await browser.newPage()
    await attacker.goto(`${foreignUrl}/`)
    const outcomes = await attacker.evaluate(async (api) => {
      const results: string[] = []
      const attempt = async (label: string, run: () => Promise<Response>) => {
        try {
          const res = await run()
          results.push(`${label}: ${res.type} ${res.status}`)
        } catch (err) {
          results.push(`${label}: ${(err as Error).name}`)
        }
      }
      const body = JSON.stringify({ name: 'from elsewhere', scopes: ['admin'] })
      // What a page can send without CORS: simple requests, which reach the server.
      await attempt('no-cors key', () =>
        fetch(`${api}/api-keys`, {
          method: 'POST',
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain' },
          body
        })
      )
      await attempt('no-cors rotate', () =>
        fetch(`${api}/keyring/rotate`, { method: 'POST', mode: 'no-cors' })
      )
      // With CORS: the preflight is refused, so the request itself never leaves.
      await attempt('cors key', () =>
        fetch(`${api}/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      )
      await attempt('cors read', () => fetch(`${api}/api-keys`))
      return results
    }, a.internalUrl)
    await attacker.close()
    // The page learns nothing: the no-cors answers are refused to it too (Cross-Origin-Resource-Policy).
    expect(outcomes).toEqual([
      'no-cors key: TypeError',
      'no-cors rotate: TypeError',
      'cors key: TypeError',
      'cors read: TypeError'
    ])
    const keysAfter = await internalJson<{ api_keys: { name: string }[] }>(a, '/api-keys')
    expect(keysAfter.api_keys).toHaveLength(keysBefore)
    expect(keysAfter.api_keys.some((k) => k.name === 'from elsewhere')).toBe(false)
    expect((await internalJson<{ primary_version: number }>(a, '/keyring')).primary_version).toBe(
      versionBefore
    )

    // The refusals are in the node's event log: the operator's page shows them live.
    await page.goto(`${a.internalUrl}/dashboard#/events`)
    await page.fill('input[name="types"]', 'security.request.refused')
    await page.locator('tr[data-type="security.request.refused"]').first().waitFor({ timeout: WAIT_MS })
    expect(await page.locator('tr[data-type="security.request.refused"]').count()).toBeGreaterThanOrEqual(3)
    await shot('refusals')

    // DNS rebinding: the same address under another name gets no page at all.
    const port = new URL(a.internalUrl).port
    const rebound = await browser.newPage()
    const res = await rebound.goto(`http://${REBIND_NAME}:${port}/dashboard`)
    expect(res?.status()).toBe(403)
    expect(await rebound.locator('body').innerText()).toContain('host_not_allowed')
    await rebound.close()
  })
})
