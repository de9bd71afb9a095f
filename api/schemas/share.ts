import { z } from '@hono/zod-openapi'
import {
  DELIVERY_STATES,
  ETH_ADDRESS_PATTERN,
  MAX_DATA_BYTES,
  PEER_ID_PATTERN,
  SHARE_AUDIT_STATES,
  SHARE_DIRECTIONS,
  SHARE_ID_PATTERN,
  TIERS,
  TX_HASH_PENDING_REASONS
} from '../../node/core/share.ts'
import { afterQuery } from '../paging.ts'
import { LONE_SURROGATE, limitQuery, MetadataSchema } from './common.ts'

// The anchor's bound (validation.py: `if amount_int > 10 ** 30`): 10^30 itself is accepted.
const MAX_PAYMENT = 10n ** 30n

/**
 * The body of `POST /share_data` and `POST /v1/shares`. As the anchor's `validate_share_data_request`
 * does: `recipient` is trimmed, `data` must not be empty, a null payment field counts as absent, and
 * the two payment fields come together (each one's absence is named on its own field).
 */
export const ShareRequestSchema = z
  .object({
    data: z
      .string({ message: 'data must be a string' })
      // The anchor's own message (validate_data: "{field_name} cannot be empty").
      .min(1, { message: 'data cannot be empty' })
      .refine((s) => !LONE_SURROGATE.test(s), {
        // A lone surrogate would be replaced while encoding, so the hash would not be of what was sent.
        message: 'data must be well-formed Unicode (no lone surrogates)'
      })
      .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_DATA_BYTES, {
        message: `data must be at most ${MAX_DATA_BYTES} bytes (UTF-8)`
      })
      .openapi({ example: 'quarterly report 2026-Q3' }),
    recipient: z
      .string({ message: 'recipient must be a string' })
      .trim()
      .refine((s) => ETH_ADDRESS_PATTERN.test(s) || PEER_ID_PATTERN.test(s), {
        message: 'recipient must be an Ethereum address (0x + 40 hex) or a PeerId'
      })
      .openapi({
        example: '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01',
        description:
          'An Ethereum address (0x + 40 hex, any case) or a PeerId. An address that no peer this node knows is bound to is resolved through the identity records on chain; one nobody registered yet is accepted all the same and waits `unresolved` until its node registers or the share expires. Anything else is refused with 422 `unknown_recipient` (or a validation error).'
      }),
    security_tier: z
      .enum(TIERS, { message: `security_tier must be one of ${TIERS.join(', ')}` })
      .optional()
      .default('standard'),
    payment_token: z
      .string({ message: 'payment_token must be a string' })
      .trim()
      .regex(ETH_ADDRESS_PATTERN, { message: 'payment_token must be an Ethereum address' })
      .nullish()
      .transform((v) => v ?? undefined),
    payment_amount: z
      .union([z.number(), z.string()], { message: 'payment_amount must be an integer' })
      .refine(isPaymentAmount, { message: 'payment_amount must be an integer > 0 and <= 10^30' })
      .nullish()
      .transform((v) => v ?? undefined)
      .openapi({ type: 'integer', example: 1000000000000000000 })
  })
  .superRefine((body, ctx) => {
    // validation.py: a token needs an amount ("payment_amount is required"), and an amount alone is
    // refused on the token field ("payment_token is required when payment_amount is provided").
    if (body.payment_token !== undefined && body.payment_amount === undefined) {
      ctx.addIssue({ code: 'custom', path: ['payment_amount'], message: 'payment_amount is required' })
    } else if (body.payment_amount !== undefined && body.payment_token === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['payment_token'],
        message: 'payment_token is required when payment_amount is provided'
      })
    }
  })
  // The request "Try it out" starts from, whole: Swagger UI would otherwise fill payment_token with
  // "string", which the schema refuses.
  .openapi('ShareRequest', {
    example: {
      data: 'quarterly report 2026-Q3',
      recipient: '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01',
      security_tier: 'standard'
    }
  })

export type ShareRequestBody = z.infer<typeof ShareRequestSchema>

function isPaymentAmount(value: number | string): boolean {
  let n: bigint
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return false
    n = BigInt(value)
  } else {
    const digits = value.trim()
    if (!/^[0-9]{1,31}$/.test(digits)) return false
    n = BigInt(digits)
  }
  return n > 0n && n <= MAX_PAYMENT
}

export const ShareStatusSchema = z
  .object({
    delivery: z.enum(DELIVERY_STATES).openapi({
      description:
        'Where the share stands on the network. Outgoing: `unresolved` (addressed to an Ethereum address that neither a known peer nor an identity record on chain binds yet; looked up again every `p2p.resolveIntervalMs` until its node registers, then `queued`, or until the share expires, then `failed`), `queued` (waiting for a delivery attempt, retried with backoff), `delivering` (an attempt in flight), `delivered` (the recipient signed a receipt), `failed` (expired or refused; see `last_error`). Incoming: `received`.'
    }),
    audit: z.enum(SHARE_AUDIT_STATES)
  })
  .openapi('ShareStatus')

const TxHashSchema = z.string().nullable().openapi({
  description:
    'The transaction that records the share on chain (0x + 64 hex). In per-share mode it is signed when the share is accepted, so it is known in the answer that accepts the share; should the transaction be replaced (same nonce, higher gas price) or sent again, the share shows the new one. Once the receipt is anchored, the transaction of the receipt. Null, with `tx_hash_pending_reason`, when there is none yet.'
})

const TxHashPendingReasonSchema = z.enum(TX_HASH_PENDING_REASONS).nullable().openapi({
  description:
    "Why `tx_hash` is null (null when it is not): `awaiting_chain`, per-share mode, but the chain has not answered since the node started, so the transaction is signed once it does; `batch`, batch mode, the share waits for a Merkle batch whose transaction is signed when the batch is formed; `anchored_by_sender`, a received share, recorded by its sender and shown once this node has seen that transaction; `audit_failed`, the chain refused the event; `recipient_unresolved`, the share waits `unresolved` (or failed so), and its record, which names the recipient's PeerId, is queued once the recipient is resolved."
})

/** The anchor's response to `POST /share_data`, with where delivery and audit stand. */
export const ShareDataResponseSchema = z
  .object({
    success: z.literal(true),
    tx_hash: TxHashSchema,
    tx_hash_pending_reason: TxHashPendingReasonSchema,
    recipient: z.string(),
    share_id: z.string(),
    data_hash: z.string(),
    status: ShareStatusSchema,
    _metadata: MetadataSchema
  })
  .openapi('ShareDataResponse')

/** A share as `/v1/shares` shows it. */
export const ShareSchema = z
  .object({
    id: z.string(),
    direction: z.enum(SHARE_DIRECTIONS),
    data_hash: z.string(),
    sender: z.string(),
    recipient: z.string().openapi({
      description:
        "The recipient's PeerId; the Ethereum address (lower case) while the share is `unresolved`."
    }),
    recipient_label: z.string().openapi({ description: 'The recipient as the client named it.' }),
    security_tier: z.enum(TIERS),
    status: ShareStatusSchema,
    tx_hash: TxHashSchema,
    tx_hash_pending_reason: TxHashPendingReasonSchema,
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string()
  })
  .openapi('Share')

export const ShareResourceSchema = z
  .object({ share: ShareSchema, _metadata: MetadataSchema })
  .openapi('ShareResource')

export const ShareListSchema = z
  .object({
    shares: z.array(ShareSchema),
    count: z.number().int(),
    next_after: z
      .string()
      .nullable()
      .openapi({ description: 'the cursor of the next page (send it as `after`); null on the last page' }),
    _metadata: MetadataSchema
  })
  .openapi('ShareList')

/** The `{share_id}` path parameter of both APIs' share reads. */
export const ShareIdParams = z.object({
  share_id: z
    .string()
    .regex(SHARE_ID_PATTERN, { message: 'share_id must be 32 lowercase hex digits' })
    .openapi({ param: { name: 'share_id', in: 'path' }, example: '5f0c2a0e9b7d4c1e8a6b3d2f1e0c9b8a' })
})

/** The query of both APIs' share lists (`/v1/shares`, the internal `/shares`). */
export const ShareListQuery = z.object({
  state: z
    .enum(DELIVERY_STATES)
    .optional()
    .openapi({ param: { name: 'state', in: 'query' } }),
  limit: limitQuery(1000, 100),
  after: afterQuery
})
