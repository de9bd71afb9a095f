import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from './context.ts'

/** Where the page is served, and where its assets are (`/docs/<file>`). */
export const DOCS_PATH = '/docs'

/**
 * The page's own policy, in place of the APIs' `default-src 'none'`: scripts, styles and fonts from
 * the API's origin only (no inline script, no CDN), Swagger UI's `data:` SVG icons, and requests
 * to the API itself for the document and "Try it out".
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

interface Asset {
  readonly file: string
  readonly contentType: string
}

const require = createRequire(import.meta.url)
// swagger-ui-dist's own entry point: `getAbsoluteFSPath()` is the folder of its built files.
const SWAGGER_UI_DIR = (require('swagger-ui-dist') as { getAbsoluteFSPath: () => string }).getAbsoluteFSPath()
const OWN_DIR = join(dirname(new URL(import.meta.url).pathname), 'docs-ui')

/** The only files served under `/docs/`: a fixed list, so no request names a path on the host. */
const ASSETS: Readonly<Record<string, Asset>> = {
  'swagger-ui.css': { file: join(SWAGGER_UI_DIR, 'swagger-ui.css'), contentType: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': {
    file: join(SWAGGER_UI_DIR, 'swagger-ui-bundle.js'),
    contentType: 'text/javascript; charset=utf-8'
  },
  'favicon-32x32.png': { file: join(SWAGGER_UI_DIR, 'favicon-32x32.png'), contentType: 'image/png' },
  'swagger-init.js': { file: join(OWN_DIR, 'swagger-init.js'), contentType: 'text/javascript; charset=utf-8' }
}

export interface DocsPageInit {
  /** The page title, e.g. the document's `info.title`. */
  readonly title: string
  /** Path of the OpenAPI document the page renders. */
  readonly specPath: string
}

/**
 * `GET /docs`: Swagger UI rendering the API's OpenAPI document, with every asset served by the API
 * itself from the installed swagger-ui-dist (a node may have no internet) under a policy that
 * allows nothing else.
 */
export function registerDocsPage(app: OpenAPIHono<ApiEnv>, init: DocsPageInit): void {
  const html = page(init)
  const loaded = new Map<string, Uint8Array>()
  const read = (name: string, asset: Asset): Uint8Array => {
    let body = loaded.get(name)
    if (body === undefined) {
      body = new Uint8Array(readFileSync(asset.file))
      loaded.set(name, body)
    }
    return body
  }

  app.get(DOCS_PATH, (c) => {
    c.header('Content-Security-Policy', DOCS_CONTENT_SECURITY_POLICY)
    return c.html(html)
  })
  app.get(`${DOCS_PATH}/:asset`, (c) => {
    const name = c.req.param('asset')
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
    if (asset === undefined) return c.json({ error: 'Not found', code: 'not_found' }, 404)
    c.header('Content-Security-Policy', DOCS_CONTENT_SECURITY_POLICY)
    c.header('Content-Type', asset.contentType)
    return c.body(read(name, asset) as Uint8Array<ArrayBuffer>, 200)
  })
}

function page(init: DocsPageInit): string {
  const title = escapeHtml(init.title)
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-spec-url="${escapeHtml(init.specPath)}"></div>
<script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/swagger-init.js"></script>
</body>
</html>
`
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}
