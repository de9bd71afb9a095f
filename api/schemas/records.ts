import { z } from '@hono/zod-openapi'
import { DATA_HASH_INPUT_PATTERN } from '../../node/core/share.ts'
import { MetadataSchema } from './common.ts'

/** `GET /data/{data_hash}`: the anchor's `{hash, data}`, plus how `data` is encoded. */
export const DataResponseSchema = z
  .object({
    hash: z.string(),
    data: z.string(),
    encoding: z.enum(['utf8', 'base64']).openapi({
      description: 'utf8 unless the stored bytes are not valid UTF-8 (then base64)'
    }),
    size_bytes: z.number().int(),
    created_at: z.string(),
    _metadata: MetadataSchema
  })
  .openapi('DataResponse')

export const EvidenceSchema = z
  .object({
    tx_hash: z.string(),
    block_number: z.number().int(),
    contract_address: z.string(),
    share_id: z.string().nullable(),
    leaf: z.string().nullable(),
    merkle_root: z.string().nullable(),
    proof: z.array(z.string()).nullable(),
    confirmations: z.number().int()
  })
  .openapi('AuditEvidence')

/** `GET /verify_data/{data_hash}`: answered from the chain, with evidence. */
export const VerifyResponseSchema = z
  .object({
    hash: z.string(),
    verified: z.boolean(),
    event_type: z.string().nullable(),
    evidence: EvidenceSchema.nullable(),
    _metadata: MetadataSchema
  })
  .openapi('VerifyResponse')

export const ComplianceEventSchema = z
  .object({
    event_type: z.string(),
    data_hash: z.string().nullable(),
    share_id: z.string().nullable(),
    sender: z.string().nullable(),
    recipient: z.string().nullable().openapi({ description: "the recipient's PeerId" }),
    recipient_label: z.string().nullable().openapi({
      description: 'the recipient as the client named it (PeerId or 0x address), for a share this node sent'
    }),
    timestamp: z.number().int().nullable(),
    tx_hash: z.string(),
    block_number: z.number().int()
  })
  .openapi('ComplianceEvent')

export const ComplianceHistorySchema = z
  .object({
    history: z.array(ComplianceEventSchema),
    count: z.number().int(),
    filters: z.array(z.string()),
    _metadata: MetadataSchema
  })
  .openapi('ComplianceHistory')

/** `?filters=a,b`: comma-separated event types, each a short identifier. */
export const ComplianceQuerySchema = z.object({
  filters: z
    .string()
    .max(512)
    .regex(/^[A-Za-z0-9_.,-]*$/, { message: 'filters must be comma-separated event types' })
    .optional()
    .openapi({ param: { name: 'filters', in: 'query' }, example: 'data_share,data_received' }),
  data_hash: z
    .string()
    .regex(DATA_HASH_INPUT_PATTERN, { message: 'data_hash must be 64 hex digits (SHA-256)' })
    .transform((h) => h.toLowerCase())
    .optional()
    .openapi({ param: { name: 'data_hash', in: 'query' } }),
  limit: z.coerce
    .number({ message: 'limit must be an integer' })
    .int({ message: 'limit must be an integer' })
    .min(1)
    .max(1000)
    .optional()
    .openapi({ param: { name: 'limit', in: 'query' }, example: 100 })
})

export type ComplianceQuery = z.infer<typeof ComplianceQuerySchema>

export function parseFilters(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '')
}
