import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCS_CONTENT_SECURITY_POLICY } from '../../api/docs-page.ts'
import { createExternalApp } from '../../api/external-app.ts'
import { createInternalApp } from '../../api/internal-app.ts'
import { createHarness, type Harness } from '../../api/test-support/fakes.ts'
import { send } from '../../api/test-support/request.ts'
import { PROJECT_ROOT } from '../helpers/cli.ts'

/**
 * The API descriptions: both OpenAPI documents lint clean with Redocly's recommended rules (the CLI
 * in a child process, kept off the network), their whole-request examples are requests the APIs
 * accept, and `/docs` serves Swagger UI with every asset from the node under a policy that allows
 * scripts from the API's own origin only.
 */

const execFileAsync = promisify(execFile)
const REDOCLY = join(PROJECT_ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js')

type App = ReturnType<typeof createExternalApp>
interface Document {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, { example?: unknown }>; securitySchemes?: Record<string, unknown> }
  servers?: unknown[]
}
interface Operation {
  operationId?: string
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> }
}

let h: Harness
let external: App
let internal: App
let shareKey: string
let dir: string
const shutdown = new AbortController()

beforeAll(() => {
  h = createHarness()
  const settings = {
    rateLimit: { perSecond: 1000, burst: 1000 },
    trustedProxies: [],
    bodyLimitBytes: 1_200_000
  }
  external = createExternalApp(h.ports, settings)
  internal = createInternalApp(h.ports, {
    ...settings,
    requireAdminKey: false,
    shutdown: shutdown.signal,
    // send() speaks to http://localhost/, port 80.
    binding: { host: '127.0.0.1', allowedHosts: [], bound: () => ({ address: '127.0.0.1', port: 80 }) }
  })
  shareKey = h.ports.apiKeys.create({ name: 'docs', scopes: ['share', 'read'] }).key
  dir = mkdtempSync(join(tmpdir(), 'dmn-openapi-'))
})
afterAll(() => {
  shutdown.abort()
  h.close()
  rmSync(dir, { recursive: true, force: true })
})

async function documentOf(app: App): Promise<{ text: string; doc: Document }> {
  const r = await send(app, '/openapi.json')
  expect(r.status).toBe(200)
  return { text: r.text, doc: JSON.parse(r.text) as Document }
}

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number }
  problems: { ruleId: string; message: string; location?: { pointer?: string }[] }[]
}

async function lint(file: string): Promise<LintReport> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [REDOCLY, 'lint', '--config', join(dir, 'redocly.yaml'), '--format=json', file],
    {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: dir,
        // No usage report and no "new version" look-up at registry.npmjs.org: the suite stays offline.
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_NOTIFICATIONS: 'true',
        NO_COLOR: '1'
      },
      timeout: 60_000
    }
  )
  return JSON.parse(stdout) as LintReport
}

describe('the OpenAPI documents', () => {
  it('lint clean with redocly: no error, no warning, nothing ignored', async () => {
    // telemetry: off is the config file's own switch, beside the environment's.
    writeFileSync(join(dir, 'redocly.yaml'), 'extends:\n  - recommended\ntelemetry: off\n')
    for (const [name, app] of [
      ['external', external],
      ['internal', internal]
    ] as const) {
      const file = join(dir, `${name}.json`)
      writeFileSync(file, (await documentOf(app)).text)
      const report = await lint(file)
      const problems = report.problems.map((p) => `${name}: ${p.ruleId} ${p.location?.[0]?.pointer ?? ''}`)
      expect(problems).toEqual([])
      expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 })
    }
  }, 120_000)

  it('describe the internal paths served outside createRoute and its admin key scheme', async () => {
    const { doc } = await documentOf(internal)
    for (const path of ['/events', '/metrics', '/openapi.json']) expect(doc.paths).toHaveProperty([path])
    expect(doc.components.securitySchemes).toHaveProperty(['AdminKey'])
    expect(doc.servers).toEqual([{ url: '/', description: 'this node' }])
    expect((await documentOf(external)).doc.paths).toHaveProperty(['/openapi.json'])
  })

  it('give each request body a whole example that the API accepts', async () => {
    const sent: string[] = []
    for (const [app, key] of [
      [external, shareKey],
      [internal, undefined]
    ] as const) {
      const { doc } = await documentOf(app)
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const ref = op.requestBody?.content['application/json']?.schema.$ref
          if (ref === undefined) continue
          const example = doc.components.schemas[ref.split('/').pop() as string]?.example
          expect(example, `${method} ${path}`).toBeDefined()
          const r = await send(app, path, {
            method: method.toUpperCase(),
            body: example,
            remote: '127.0.0.1',
            ...(key ? { key } : {})
          })
          expect([r.status, `${method} ${path}`, r.text]).toEqual([201, `${method} ${path}`, r.text])
          sent.push(`${method} ${path}`)
        }
      }
    }
    expect(sent.sort()).toEqual(['post /api-keys', 'post /share_data', 'post /v1/shares', 'post /webhooks'])
  })
})

describe('/docs', () => {
  for (const [name, get] of [
    ['external', () => external],
    ['internal', () => internal]
  ] as const) {
    it(`renders Swagger UI on the ${name} API from local assets, each with its content type`, async () => {
      const app = get()
      const page = await send(app, '/docs')
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toBe('text/html; charset=UTF-8')
      expect(page.headers.get('content-security-policy')).toBe(DOCS_CONTENT_SECURITY_POLICY)
      expect(page.text).toContain('data-spec-url="/openapi.json"')
      // No inline script and nothing from another origin: every script and stylesheet is a /docs/ file.
      expect(page.text).not.toMatch(/<script>|<script [^>]*>[^<]|https?:\/\//)
      const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string)
      expect(assets.sort()).toEqual([
        '/docs/favicon-32x32.png',
        '/docs/swagger-init.js',
        '/docs/swagger-ui-bundle.js',
        '/docs/swagger-ui.css'
      ])
      const types: Record<string, string> = {}
      for (const asset of assets) {
        const r = await app.request(asset, { headers: { host: 'localhost' } })
        expect([asset, r.status]).toEqual([asset, 200])
        types[asset] = r.headers.get('content-type') ?? ''
        const body = new Uint8Array(await r.arrayBuffer())
        expect(body.length).toBeGreaterThan(0)
        if (asset.endsWith('swagger-ui-bundle.js'))
          expect(new TextDecoder().decode(body)).toContain('SwaggerUIBundle')
      }
      expect(types).toEqual({
        '/docs/favicon-32x32.png': 'image/png',
        '/docs/swagger-init.js': 'text/javascript; charset=utf-8',
        '/docs/swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
        '/docs/swagger-ui.css': 'text/css; charset=utf-8'
      })
    })
  }

  it('serves no other file: an unknown or traversing asset name is 404', async () => {
    for (const path of [
      '/docs/index.html',
      '/docs/..%2Fpackage.json',
      '/docs/swagger-ui.js.map',
      '/docs/toString'
    ]) {
      expect([path, (await send(external, path)).status]).toEqual([path, 404])
    }
  })

  it('keeps the strict policy everywhere else', async () => {
    const r = await send(external, '/openapi.json')
    expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
  })

  it('opens without the admin key on an internal API that requires one, while node data still needs it', async () => {
    const guarded = createInternalApp(h.ports, {
      rateLimit: { perSecond: 1000, burst: 1000 },
      trustedProxies: [],
      bodyLimitBytes: 65_536,
      requireAdminKey: true,
      shutdown: shutdown.signal,
      binding: { host: '127.0.0.1', allowedHosts: [], bound: () => ({ address: '127.0.0.1', port: 80 }) }
    })
    expect((await send(guarded, '/docs')).status).toBe(200)
    expect((await send(guarded, '/docs/swagger-init.js')).status).toBe(200)
    expect((await send(guarded, '/openapi.json')).status).toBe(200)
    expect((await send(guarded, '/id')).status).toBe(401)
  })
})
