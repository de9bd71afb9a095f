import type { OpenAPIHono } from '@hono/zod-openapi'
import { createBaseApp } from './app-base.ts'
import type { ApiEnv } from './context.ts'
import { type ApiSettings, DEFAULT_IDEMPOTENCY_RETENTION_MS, type InternalApiPorts } from './deps.ts'
import { DOCS_PATH } from './docs-page.ts'
import { browserGuard } from './middleware/browser-guard.ts'
import { createGuards } from './middleware/guards.ts'
import { documentIdempotencyKey } from './middleware/idempotency.ts'
import { OPENAPI_PATH, registerApiDocument } from './openapi-document.ts'
import { registerApiKeyRoutes } from './routes/internal/api-keys.ts'
import { isDashboardPath, registerDashboardRoutes } from './routes/internal/dashboard.ts'
import { registerEventRoutes } from './routes/internal/events.ts'
import { registerIdentityRoutes } from './routes/internal/identity.ts'
import { registerKeyRingRoutes } from './routes/internal/keyring.ts'
import { registerPeerAndOutboxRoutes } from './routes/internal/peers-outbox.ts'
import { registerShareReadRoutes } from './routes/internal/shares.ts'
import { registerStatusRoutes } from './routes/internal/status.ts'
import { registerWebhookRoutes } from './routes/internal/webhooks.ts'
import { internalEdgeResponses } from './schemas/internal.ts'

export interface InternalAppInit extends ApiSettings {
  /**
   * Require an `admin` key on every path except `/health` and the dashboard's static page and assets
   * (which hold no data: the page asks for the key and sends it with every call). The internal API
   * listens on loopback and is never proxied; when it is bound elsewhere, a key is the only thing
   * between it and the network.
   */
  readonly requireAdminKey: boolean
  /** Aborted when the server stops; ends live event streams. */
  readonly shutdown: AbortSignal
  /** Where the API listens, for the Host check of the browser guard. */
  readonly binding: InternalBinding
}

/** The internal API's listen address as configured and as bound, and the hosts allowed besides. */
export interface InternalBinding {
  /** The configured listen host (`api.internal.host`). */
  readonly host: string
  /** `api.internal.allowedHosts`. */
  readonly allowedHosts: readonly string[]
  /** The address and port actually bound; read per request, as with port 0 they are known only after listen. */
  readonly bound: () => { readonly address: string; readonly port: number }
}

/**
 * The internal (operator) API: health, metrics, identity, key ring, API keys, peers, outbox, live
 * events, webhook subscriptions, the shares in and out, and the operator dashboard.
 * Only requests for its own Host and origin get through (`browserGuard`).
 */
export function createInternalApp(ports: InternalApiPorts, init: InternalAppInit): OpenAPIHono<ApiEnv> {
  const app = createBaseApp({
    api: 'internal',
    rateLimit: init.rateLimit,
    trustedProxies: init.trustedProxies,
    bodyLimitBytes: init.bodyLimitBytes,
    apiKeys: ports.apiKeys,
    securityLog: ports.securityLog,
    metrics: ports.metrics,
    logger: ports.logger,
    idempotency: {
      store: ports.idempotency,
      retentionMs: init.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS,
      anonymous: !init.requireAdminKey
    },
    ...(init.now ? { now: init.now } : {}),
    ...(init.maxClients !== undefined ? { maxClients: init.maxClients } : {}),
    // Loopback is no boundary against a browser: refuse rebinding and cross-site requests first.
    guard: browserGuard({ ...init.binding, securityLog: ports.securityLog })
  })
  const guards = createGuards(ports.securityLog, init.bodyLimitBytes)
  if (init.requireAdminKey) {
    app.use('*', async (c, next) => (withoutKey(c.req.path) ? next() : guards.admin(c, next)))
  }
  registerStatusRoutes(app, ports)
  registerIdentityRoutes(app, ports)
  registerKeyRingRoutes(app, ports)
  registerApiKeyRoutes(app, ports, guards)
  registerPeerAndOutboxRoutes(app, ports)
  registerEventRoutes(app, ports, init.shutdown)
  registerWebhookRoutes(app, ports, guards)
  registerShareReadRoutes(app, ports)
  registerDashboardRoutes(app)
  documentIdempotencyKey(app)
  app.openAPIRegistry.registerComponent('securitySchemes', 'AdminKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'an admin-scoped API key; required only when the internal API listens beyond loopback'
  })
  registerApiDocument(app, {
    title: 'DataMgmt Node internal API',
    description:
      'The operator API on 127.0.0.1. It answers only requests for its own Host and origin; bound beyond loopback, every path except /health, /openapi.json, /docs and the dashboard page and its assets needs an admin key (X-API-Key).',
    // On loopback no key is needed; beyond it, an admin key.
    security: [{}, { AdminKey: [] }],
    edgeResponses: { 403: internalEdgeResponses[403], 429: internalEdgeResponses[429] }
  })
  return app
}

/**
 * Paths open without the admin key: health, and the API's description (the document and the static
 * page that renders it hold nothing of the node's; a browser cannot send X-API-Key for a page load,
 * and "Try it out" sends the key the operator enters).
 */
function withoutKey(path: string): boolean {
  return (
    path === '/health' ||
    path === OPENAPI_PATH ||
    path === DOCS_PATH ||
    path.startsWith(`${DOCS_PATH}/`) ||
    isDashboardPath(path)
  )
}
