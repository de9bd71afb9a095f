import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import { API_VERSION } from '../../deps.ts'
import type { HealthReport } from '../../health.ts'
import type { HealthAnswer } from '../../health-ahead.ts'
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
      const body = externalHealthBody(report)
      return report.status === 'unhealthy' ? c.json(body, 503) : c.json(body, 200)
    }
  )
}

/** The anchor's `{status, p2p: {running, peers}}` (and the version) from a health report. */
export function externalHealthBody(report: HealthReport): z.infer<typeof ExternalHealthSchema> {
  const p2p = report.components['p2p']
  const peers = typeof p2p?.detail?.['peers'] === 'number' ? (p2p.detail['peers'] as number) : 0
  return {
    status: report.status,
    p2p: { running: p2p !== undefined && p2p.status !== 'down', peers },
    version: API_VERSION
  }
}

/**
 * The external `/health` answer of a report, serialised once per report (the check reuses one for
 * its TTL), for the answer ahead of the middleware (api/health-ahead.ts).
 */
export function externalHealthAnswers(): (report: HealthReport) => HealthAnswer {
  let last: { report: HealthReport; answer: HealthAnswer } | undefined
  return (report) => {
    if (last?.report !== report) {
      const status = report.status === 'unhealthy' ? 503 : 200
      last = { report, answer: { status, body: JSON.stringify(externalHealthBody(report)) } }
    }
    return last.answer
  }
}
