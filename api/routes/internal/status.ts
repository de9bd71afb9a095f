import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import { API_VERSION, type InternalApiPorts } from '../../deps.ts'
import { createHealthCheck } from '../../health.ts'
import { exportBundle } from '../../operations.ts'
import { DataHashParams, notFoundResponse } from '../../schemas/common.ts'
import { AuditStatusSchema, InternalHealthSchema, internalEdgeResponses } from '../../schemas/internal.ts'
import { EvidenceBundleSchema } from '../../schemas/records.ts'

/**
 * `GET /health` with every component, `GET /metrics` (Prometheus), `GET /audit/status`, and
 * `GET /audit/{data_hash}/bundle` (what `dmn audit export` asks the running node for).
 */
export function registerStatusRoutes(app: OpenAPIHono<ApiEnv>, ports: InternalApiPorts) {
  const health = createHealthCheck(ports.health)
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      operationId: 'getHealth',
      tags: ['status'],
      summary: 'Health of every component: database, key ring, p2p, chain, outbox lag',
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: InternalHealthSchema } }, description: 'serving' },
        503: { content: { 'application/json': { schema: InternalHealthSchema } }, description: 'not serving' }
      }
    }),
    async (c) => {
      const report = await health()
      const body = { status: report.status, components: report.components, version: API_VERSION }
      return report.status === 'unhealthy' ? c.json(body, 503) : c.json(body, 200)
    }
  )

  // Prometheus text, not JSON: described in the document, served by a plain handler.
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['status'],
    summary: 'Prometheus metrics (text exposition format)',
    responses: {
      ...internalEdgeResponses,
      200: { content: { 'text/plain': { schema: z.string() } }, description: 'the metrics' }
    }
  })
  app.get('/metrics', async (c) => {
    const text = await ports.metrics.registry.metrics()
    return c.body(text, 200, { 'Content-Type': ports.metrics.registry.contentType })
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/audit/status',
      operationId: 'getAuditStatus',
      tags: ['status'],
      summary: 'The audit publisher: contract, chain, outbox counts and lag',
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: AuditStatusSchema } }, description: 'status' }
      }
    }),
    async (c) => {
      const s = await ports.audit.status({ signal: c.req.raw.signal })
      return c.json(
        {
          contract_address: s.contractAddress,
          chain_id: s.chainId,
          latest_block: s.latestBlock,
          pending: s.pending,
          sent: s.sent,
          failed: s.failed,
          lag_seconds: s.lagSeconds
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/audit/{data_hash}/bundle',
      operationId: 'getEvidenceBundle',
      tags: ['status'],
      summary: 'The evidence bundle of a data hash (as the external `/v1/audit/{data_hash}/bundle`)',
      request: { params: DataHashParams },
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: EvidenceBundleSchema } }, description: 'the bundle' },
        ...notFoundResponse
      }
    }),
    async (c) => {
      const hash = c.req.valid('param').data_hash
      const bundle = await exportBundle(ports.audit, hash, { signal: c.req.raw.signal })
      return c.json(bundle as z.infer<typeof EvidenceBundleSchema>, 200)
    }
  )
}
