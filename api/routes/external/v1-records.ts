import { createRoute, type OpenAPIHono, type z } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { exportBundle } from '../../operations.ts'
import { DataHashParams, errorResponses, notFoundResponse } from '../../schemas/common.ts'
import { EvidenceBundleSchema } from '../../schemas/records.ts'
import { registerComplianceHistory, registerRecordRead, registerVerify } from './shared-routes.ts'

/** `/v1/data/{hash}` and `/v1/audit/...`: records and their audit trail. */
export function registerV1Records(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  registerRecordRead(app, ports, guards, {
    path: '/v1/data/{data_hash}',
    operationId: 'getRecord',
    tags: ['data'],
    summary: 'A stored record by the SHA-256 of its plaintext'
  })
  registerVerify(app, ports, guards, {
    path: '/v1/audit/{data_hash}',
    operationId: 'verifyDataHash',
    tags: ['audit'],
    summary: 'On-chain verification of a data hash, with evidence'
  })
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit/{data_hash}/bundle',
      operationId: 'getEvidenceBundle',
      tags: ['audit'],
      summary: 'The evidence bundle of a data hash, checkable by anyone against the chain',
      middleware: [guards.read] as const,
      request: { params: DataHashParams },
      responses: {
        200: {
          content: { 'application/json': { schema: EvidenceBundleSchema } },
          description: 'every share of the data hash this node is party to, with its evidence'
        },
        ...notFoundResponse,
        ...errorResponses
      }
    }),
    async (c) => {
      const hash = c.req.valid('param').data_hash
      const bundle = await exportBundle(ports.audit, hash, { signal: c.req.raw.signal })
      return c.json(bundle as z.infer<typeof EvidenceBundleSchema>, 200)
    }
  )
  registerComplianceHistory(app, ports, guards, {
    path: '/v1/audit',
    operationId: 'listAuditEvents',
    tags: ['audit'],
    summary: 'Audit events (compliance history)',
    description: 'events'
  })
}
