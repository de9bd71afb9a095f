import type { OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { ExternalApiPorts } from '../../deps.ts'
import type { ScopeGuards } from '../../middleware/guards.ts'
import { registerComplianceHistory, registerRecordRead, registerVerify } from './shared-routes.ts'

/** `/v1/data/{hash}` and `/v1/audit/...`: records and their audit trail. */
export function registerV1Records(app: OpenAPIHono<ApiEnv>, ports: ExternalApiPorts, guards: ScopeGuards) {
  registerRecordRead(app, ports, guards, {
    path: '/v1/data/{data_hash}',
    tags: ['data'],
    summary: 'A stored record by the SHA-256 of its plaintext'
  })
  registerVerify(app, ports, guards, {
    path: '/v1/audit/{data_hash}',
    tags: ['audit'],
    summary: 'On-chain verification of a data hash, with evidence'
  })
  registerComplianceHistory(app, ports, guards, {
    path: '/v1/audit',
    tags: ['audit'],
    summary: 'Audit events (compliance history)',
    description: 'events'
  })
}
