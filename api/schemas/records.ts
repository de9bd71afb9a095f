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

const REASON_DESCRIPTION =
  'a reason code of the evidence check (docs/AUDIT.md): malformed_bundle, wrong_chain, chain_reset, bad_identity_record, identity_not_registered, data_hash_mismatch, unbound_submitter, unbound_recipient, not_found, proof_mismatch, not_delivered, receipt_mismatch, bad_receipt_signature, unconfirmed'

export const ShareVerificationSchema = z
  .object({
    share_id: z.string(),
    sender: z.string().openapi({ description: 'PeerId of the sender' }),
    recipient: z.string().openapi({ description: 'PeerId of the recipient' }),
    tier: z.string(),
    verified: z.boolean(),
    reason: z.string().nullable().openapi({ description: REASON_DESCRIPTION }),
    confirmations: z.number().int()
  })
  .openapi('ShareVerification')

export const RefusedEvidenceSchema = EvidenceSchema.extend({
  event_type: z.string(),
  submitter: z.string(),
  reason: z
    .string()
    .openapi({ description: 'unbound_submitter: no valid identity record binds the submitter' })
}).openapi('RefusedEvidence')

/**
 * `GET /verify_data/{data_hash}`: the node builds the evidence bundle of the data hash and checks it
 * against the chain; `evidence` is the strongest anchor, `shares` says who shared with whom.
 */
export const VerifyResponseSchema = z
  .object({
    hash: z.string(),
    verified: z.boolean(),
    reason: z.string().nullable().openapi({ description: REASON_DESCRIPTION }),
    event_type: z.string().nullable(),
    evidence: EvidenceSchema.nullable(),
    shares: z.array(ShareVerificationSchema),
    refused: z.array(RefusedEvidenceSchema).openapi({
      description: 'events for the data hash from accounts bound to no valid identity record; never counted'
    }),
    _metadata: MetadataSchema
  })
  .openapi('VerifyResponse')

/** `GET /v1/audit/{data_hash}/bundle`: the evidence bundle, in the format docs/AUDIT.md fixes. */
export const EvidenceBundleSchema = z
  .object({
    v: z.literal(1),
    kind: z.literal('dmn-evidence-bundle'),
    dataHash: z.string(),
    chain: z.object({ chainId: z.number().int(), contract: z.string(), genesisHash: z.string() }),
    identities: z.array(z.object({ record: z.string(), anchor: z.record(z.string(), z.unknown()) })),
    shares: z.array(z.record(z.string(), z.unknown()))
  })
  .openapi('EvidenceBundle', {
    description: 'check it with `dmn audit check FILE --rpc URL`, or checkBundle (node/audit/bundle-check.ts)'
  })

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
