import { z } from '@hono/zod-openapi'
import { DATA_HASH_INPUT_PATTERN, TIERS } from '../../node/core/share.ts'

/**
 * Schemas shared by both APIs. They validate requests and generate the OpenAPI document, so the two
 * cannot drift apart.
 */

export { LONE_SURROGATE } from '../../node/core/share.ts'

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: 'recipient must be an Ethereum address or a PeerId' }),
    code: z.string().optional().openapi({ example: 'validation_failed' }),
    field: z.string().nullable().optional().openapi({
      example: 'recipient',
      description: 'null when the body as a whole is refused (anchor paths)'
    })
  })
  .openapi('Error')

export const RateLimitSchema = z
  .object({ error: z.literal('Rate limit exceeded'), retry_after: z.number().openapi({ example: 1.5 }) })
  .openapi('RateLimited')

export const MetadataSchema = z
  .object({
    security_tier: z.enum(TIERS).nullable(),
    attestation: z
      .object({ is_available: z.boolean(), verified: z.boolean().optional() })
      .nullable()
      .openapi({ description: 'TPM attestation of the recipient; null until attestation is in use' }),
    api_version: z.string().openapi({ example: '1' })
  })
  .openapi('Metadata')

/** A data hash in a path: 64 hex digits, answered in lowercase. */
export const DataHashParams = z.object({
  data_hash: z
    .string()
    .regex(DATA_HASH_INPUT_PATTERN, { message: 'data_hash must be 64 hex digits (SHA-256)' })
    .transform((h) => h.toLowerCase())
    .openapi({
      param: { name: 'data_hash', in: 'path' },
      example: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9'
    })
})

export const errorResponses = {
  401: {
    content: { 'application/json': { schema: ErrorSchema } },
    description: 'X-API-Key missing or not valid'
  },
  403: { content: { 'application/json': { schema: ErrorSchema } }, description: 'the key lacks the scope' },
  422: { content: { 'application/json': { schema: ErrorSchema } }, description: 'a field is not valid' },
  429: { content: { 'application/json': { schema: RateLimitSchema } }, description: 'rate limit exceeded' }
} as const

export const notFoundResponse = {
  404: { content: { 'application/json': { schema: ErrorSchema } }, description: 'not found' }
} as const

/** `?healthy=true|false|1|0`, as the anchor's clients send it. */
export const booleanQuery = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1'))

export const limitQuery = (max: number, dflt: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .optional()
    .default(dflt)
    .openapi({ param: { name: 'limit', in: 'query' }, example: dflt })
