import { z } from '@hono/zod-openapi'
import { API_KEY_NAME_PROBLEMS, API_KEY_SCOPES, MAX_API_KEY_NAME_LENGTH } from '../../node/core/ports.ts'
import { AUDIT_STATES, PEER_ID_PATTERN } from '../../node/core/share.ts'
import { ErrorSchema, LONE_SURROGATE, RateLimitSchema } from './common.ts'

/** Schemas of the internal (operator) API. */

/** `next_after` of every list (api/paging.ts). */
export const NextAfterSchema = z
  .string()
  .nullable()
  .openapi({ description: 'the cursor of the next page (send it as `after`); null on the last page' })

/**
 * What any internal path can answer before its own handler runs: the browser guard's refusals
 * (`host_not_allowed`, `cross_origin_refused`), the admin key when the node requires one, the rate limit.
 */
export const internalEdgeResponses = {
  401: {
    content: { 'application/json': { schema: ErrorSchema } },
    description:
      'the node requires an admin key (internal API not on loopback) and X-API-Key is missing or not valid'
  },
  403: {
    content: { 'application/json': { schema: ErrorSchema } },
    description: 'Host or Origin is not this API, or the key is not an admin key'
  },
  429: { content: { 'application/json': { schema: RateLimitSchema } }, description: 'rate limit exceeded' }
} as const

export const ComponentHealthSchema = z.object({
  status: z.enum(['up', 'degraded', 'down']),
  detail: z.record(z.string(), z.unknown()).optional()
})

export const InternalHealthSchema = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    components: z.record(z.string(), ComponentHealthSchema),
    version: z.string()
  })
  .openapi('InternalHealth')

export const KeyRingStatusSchema = z
  .object({
    primary_version: z.number().int(),
    minimum_version: z.number().int(),
    versions: z.array(z.object({ version: z.number().int(), created_at: z.string(), retired: z.boolean() })),
    records_by_version: z.record(z.string(), z.number().int()),
    signing_key_id: z.string(),
    encryption_key_id: z.string()
  })
  .openapi('KeyRingStatus')

export const ApiKeyInfoSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(API_KEY_SCOPES)),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    last_used_at: z.string().nullable()
  })
  .openapi('ApiKeyInfo')

export const CreateApiKeySchema = z
  .object({
    // Each check carries its own message: zod would otherwise report every failure with the type's.
    name: z
      .string({ message: 'name must be a string' })
      .min(1, { message: API_KEY_NAME_PROBLEMS.empty })
      .max(MAX_API_KEY_NAME_LENGTH, { message: API_KEY_NAME_PROBLEMS.tooLong })
      .refine((s) => !LONE_SURROGATE.test(s), { message: API_KEY_NAME_PROBLEMS.loneSurrogate }),
    scopes: z
      .array(z.enum(API_KEY_SCOPES, { message: `scopes must be among ${API_KEY_SCOPES.join(', ')}` }))
      .min(1, { message: 'at least one scope is needed' }),
    expires_at: z.iso
      .datetime({ offset: true, message: 'expires_at must be an ISO-8601 date-time' })
      .optional()
      .openapi({ example: '2030-01-01T00:00:00Z' })
  })
  // The request "Try it out" starts from: a key that never expires (a date in the example would one day be past).
  .openapi('CreateApiKey', { example: { name: 'reporting-app', scopes: ['share', 'read'] } })

export const CreatedApiKeySchema = ApiKeyInfoSchema.extend({
  key: z.string().openapi({ description: 'shown once; only its hash is stored' })
}).openapi('CreatedApiKey')

export const ApiKeyIdParams = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f]{16}$/, { message: 'id must be 16 hex digits' })
    .openapi({ param: { name: 'id', in: 'path' } })
})

export const PeerIdParams = z.object({
  peer_id: z
    .string()
    .regex(PEER_ID_PATTERN, { message: 'peer_id must be a PeerId' })
    .openapi({ param: { name: 'peer_id', in: 'path' } })
})

export const OutboxEntrySchema = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    share_id: z.string().nullable(),
    state: z.enum(AUDIT_STATES),
    tx_hash: z.string().nullable(),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string()
  })
  .openapi('OutboxEntry')

export const OutboxIdParams = z.object({
  id: z.coerce
    .number({ message: 'id must be an integer' })
    .int({ message: 'id must be an integer' })
    .min(1, { message: 'id must be an integer' })
    .openapi({ param: { name: 'id', in: 'path' }, type: 'integer' })
})

export const AuditStatusSchema = z
  .object({
    contract_address: z.string().nullable(),
    chain_id: z.number().int().nullable(),
    latest_block: z.number().int().nullable(),
    pending: z.number().int(),
    sent: z.number().int(),
    failed: z.number().int(),
    lag_seconds: z.number()
  })
  .openapi('AuditStatus')

export const NodeIdentitySchema = z
  .object({
    peer_id: z.string().regex(PEER_ID_PATTERN),
    addresses: z.array(z.string()),
    eth_address: z.string().nullable(),
    signing_key_fingerprint: z.string(),
    encryption_key_fingerprint: z.string()
  })
  .openapi('NodeIdentity')
