import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, extname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { ApiEnv } from '../../context.ts'
import { internalEdgeResponses } from '../../schemas/internal.ts'

/**
 * The operator dashboard: one page, its modules and the front-end library, all served from the
 * node (no CDN: a node may have no internet). The page is a shell without data: it reads everything
 * from the internal API's JSON endpoints and `/events` with the operator's key, so the shell itself
 * needs none (`isDashboardPath`); the data paths keep needing it where the API requires one.
 *
 * Caching: the node's own assets sit under a path named by the hash of their content, and the
 * vendored modules under their package versions, so both are immutable; the page is never cached
 * (it names the current hash). CSP: the page gets its own strict policy, scripts only from this
 * origin plus the one inline import map, allowed by its hash.
 */

const PAGE_PATH = '/dashboard'
const ASSETS_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url))
// Content-addressed or versioned: never changes under its URL.
const IMMUTABLE = 'public, max-age=31536000, immutable'
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}

interface Asset {
  readonly body: Uint8Array
  readonly type: string
}

/** The page and the paths under it: static, served without a key (they hold no node data). */
export function isDashboardPath(path: string): boolean {
  return path === PAGE_PATH || path.startsWith(`${PAGE_PATH}/`)
}

/** ES modules of the front-end library: preact, its hooks, htm; by import specifier. */
function vendorModules(): Map<string, { readonly url: string; readonly asset: Asset }> {
  const modules = new Map<string, { url: string; asset: Asset }>()
  const add = (specifier: string, pkg: string, file: string) => {
    const path = fileURLToPath(import.meta.resolve(specifier))
    const version = packageVersion(path, pkg)
    modules.set(specifier, {
      url: `${PAGE_PATH}/vendor/${pkg}@${version}/${file}`,
      asset: { body: readFileSync(path), type: CONTENT_TYPES['.mjs'] as string }
    })
  }
  add('preact', 'preact', 'preact.mjs')
  add('preact/hooks', 'preact', 'hooks.mjs')
  add('htm', 'htm', 'htm.mjs')
  return modules
}

/** The version of the package `file` belongs to (not every package exports its package.json). */
function packageVersion(file: string, pkg: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (!existsSync(manifest)) continue
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version: string }
    if (name === pkg) return version
  }
  throw new Error(`no package.json of ${pkg} above ${file}`)
}

function ownAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const entry of readdirSync(ASSETS_DIR, { recursive: true, withFileTypes: true })) {
    const type = CONTENT_TYPES[extname(entry.name)]
    if (!entry.isFile() || type === undefined) continue
    const full = join(entry.parentPath, entry.name)
    assets.set(relative(ASSETS_DIR, full).split('\\').join('/'), { body: readFileSync(full), type })
  }
  return assets
}

function pageOf(assetBase: string, importMap: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DataMgmt Node</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetBase}/style.css">
<script type="importmap">${importMap}</script>
<script type="module" src="${assetBase}/app.js"></script>
</head>
<body><div id="app"><noscript>The dashboard needs JavaScript.</noscript></div></body>
</html>
`
}

/** `GET /dashboard` and its static assets. Files are read once, when the app is built. */
export function registerDashboardRoutes(app: OpenAPIHono<ApiEnv>) {
  const vendor = vendorModules()
  const own = ownAssets()
  const digest = createHash('sha256')
  for (const [name, asset] of [...own].sort(([a], [b]) => (a < b ? -1 : 1)))
    digest.update(name).update(asset.body)
  const assetBase = `${PAGE_PATH}/assets/${digest.digest('hex').slice(0, 16)}`
  const importMap = JSON.stringify({
    imports: Object.fromEntries([...vendor].map(([specifier, m]) => [specifier, m.url]))
  })
  const page = pageOf(assetBase, importMap)
  const mapHash = createHash('sha256').update(importMap).digest('base64')
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${mapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
  const byUrl = new Map<string, Asset>([...vendor.values()].map((m) => [m.url, m.asset]))
  for (const [name, asset] of own) byUrl.set(`${assetBase}/${name}`, asset)

  app.openAPIRegistry.registerPath({
    method: 'get',
    path: PAGE_PATH,
    operationId: 'dashboard',
    tags: ['dashboard'],
    summary: 'The operator dashboard (HTML); its data comes from this API with the same key',
    responses: {
      ...internalEdgeResponses,
      200: { content: { 'text/html': { schema: z.string() } }, description: 'the page' }
    }
  })
  const servePage = (c: Context<ApiEnv>) => {
    c.header('Content-Security-Policy', csp)
    return c.html(page, 200)
  }
  app.get(PAGE_PATH, servePage)
  app.get(`${PAGE_PATH}/`, servePage)
  app.get(`${PAGE_PATH}/*`, (c) => {
    const asset = byUrl.get(c.req.path)
    if (!asset) return c.json({ error: 'Not found', code: 'not_found' }, 404)
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': asset.type,
      'Cache-Control': IMMUTABLE,
      'Content-Security-Policy': csp
    })
  })
}
