import type { OpenAPIHono } from '@hono/zod-openapi'
import { createBaseApp } from './app-base.ts'
import type { ApiEnv } from './context.ts'
import { type ApiSettings, DEFAULT_IDEMPOTENCY_RETENTION_MS, type ExternalApiPorts } from './deps.ts'
import { createHealthCheck } from './health.ts'
import { createGuards } from './middleware/guards.ts'
import { documentIdempotencyKey } from './middleware/idempotency.ts'
import { registerApiDocument } from './openapi-document.ts'
import { registerAnchorRoutes } from './routes/external/anchor.ts'
import { externalHealthAnswers, registerExternalHealth } from './routes/external/health.ts'
import { registerV1Network } from './routes/external/v1-network.ts'
import { registerV1Records } from './routes/external/v1-records.ts'
import { registerV1Shares } from './routes/external/v1-shares.ts'
import { errorResponses } from './schemas/common.ts'

/**
 * The external API (behind nginx): the anchor's paths unchanged, the same capabilities under `/v1`,
 * the OpenAPI 3.1 document generated from the schemas that validate the requests, and `/docs` over it.
 */
export function createExternalApp(ports: ExternalApiPorts, settings: ApiSettings): OpenAPIHono<ApiEnv> {
  const health = createHealthCheck(ports.health)
  const answers = externalHealthAnswers()
  const app = createBaseApp({
    api: 'external',
    rateLimit: settings.rateLimit,
    trustedProxies: settings.trustedProxies,
    bodyLimitBytes: settings.bodyLimitBytes,
    apiKeys: ports.apiKeys,
    securityLog: ports.securityLog,
    metrics: ports.metrics,
    logger: ports.logger,
    idempotency: {
      store: ports.idempotency,
      retentionMs: settings.idempotencyRetentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS,
      // Every POST here needs a key: without one the route refuses before reading the body.
      anonymous: false
    },
    // Probes poll it often: answered ahead of the middleware, from the report in hand while fresh.
    healthAhead: {
      path: '/health',
      answer: () => {
        const report = health.fresh()
        return report ? answers(report) : health().then(answers)
      }
    },
    ...(settings.now ? { now: settings.now } : {}),
    ...(settings.maxClients !== undefined ? { maxClients: settings.maxClients } : {})
  })
  const guards = createGuards(ports.securityLog, settings.bodyLimitBytes, {
    openAnchorReads: settings.openAnchorReads === true
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'ApiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key'
  })
  registerExternalHealth(app, health)
  registerAnchorRoutes(app, ports, guards)
  registerV1Shares(app, ports, guards)
  registerV1Records(app, ports, guards)
  registerV1Network(app, ports, guards)
  documentIdempotencyKey(app)
  registerApiDocument(app, {
    title: 'DataMgmt Node external API',
    description:
      'Anchor-compatible paths and the /v1 resources. Every path except /health, /openapi.json, /docs and /verify_data/{data_hash} needs X-API-Key (and /compliance_history and /network/* neither when the node opens them as the anchor does).',
    security: [{ ApiKey: [] }],
    edgeResponses: { 429: errorResponses[429] }
  })
  return app
}
