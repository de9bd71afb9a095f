import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import { API_VERSION } from '../../deps.ts'
import type { HealthReport } from '../../health.ts'
import { errorResponses } from '../../schemas/common.ts'

const ExternalHealthSchema = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    p2p: z.object({ running: z.boolean(), peers: z.number().int() }),
    version: z.string()
  })
  .openapi('ExternalHealth')

/** `GET /health` (no key needed): the anchor's `{status, p2p: {running, peers}}`. */
export function registerExternalHealth(app: OpenAPIHono<ApiEnv>, health: () => Promise<HealthReport>) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      operationId: 'getHealth',
      tags: ['health'],
      summary: 'Whether the node serves; no API key needed',
      security: [],
      responses: {
        200: { content: { 'application/json': { schema: ExternalHealthSchema } }, description: 'serving' },
        503: {
          content: { 'application/json': { schema: ExternalHealthSchema } },
          description: 'not serving'
        },
        429: errorResponses[429]
      }
    }),
    async (c) => {
      const report = await health()
      const p2p = report.components['p2p']
      const peers = typeof p2p?.detail?.['peers'] === 'number' ? (p2p.detail['peers'] as number) : 0
      const body = {
        status: report.status,
        p2p: { running: p2p !== undefined && p2p.status !== 'down', peers },
        version: API_VERSION
      }
      return report.status === 'unhealthy' ? c.json(body, 503) : c.json(body, 200)
    }
  )
}
