import { z } from '@hono/zod-openapi'
import { DATA_HASH_INPUT_PATTERN } from '../../node/core/share.ts'
import type { EventPosition } from '../../node/core/ports.ts'
import { MetadataSchema } from './common.ts'
import { NetworkStatsSchema } from './network.ts'
import { ComplianceEventSchema, VerifyResponseSchema } from './records.ts'

/**
 * Shapes of the anchor's paths where its code answers otherwise than `/v1` (cryptuon/datamgmtnode,
 * `api/external_api.py`, `api/validation.py`, `network/p2p_network.py`). Each keeps our keys and
 * adds the anchor's, so a client written for either reads what it expects.
 */

// validation.py validate_filters: `if len(f) > 100` and `re.match(r'^[a-zA-Z0-9_-]+$', f)`.
const MAX_FILTER_LENGTH = 100
const FILTER_PATTERN = /^[a-zA-Z0-9_-]+$/

/**
 * `?filters=a, b`: split on commas, each item trimmed, empty items dropped; null when nothing is
 * left, as `validate_filters` returns None. Items are refused on `filters` with the anchor's messages.
 */
export const anchorFilters = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const items = (raw ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '')
    for (const f of items) {
      if (f.length > MAX_FILTER_LENGTH) {
        ctx.addIssue({ code: 'custom', message: `Filter '${f.slice(0, 20)}...' exceeds maximum length` })
        return z.NEVER
      }
      if (!FILTER_PATTERN.test(f)) {
        ctx.addIssue({ code: 'custom', message: `Filter '${f}' contains invalid characters` })
        return z.NEVER
      }
    }
    return items.length > 0 ? items : null
  })
  .openapi({
    param: { name: 'filters', in: 'query' },
    type: 'string',
    example: 'data_share,delivery_receipt'
  })

// A position: block, log index, and leaf index + 1 (0 for an event that is no batch leaf).
const CURSOR = /^([0-9]{1,15})\.([0-9]{1,9})\.([0-9]{1,9})$/

/** The cursor of the page after `e`'s: opaque to clients, a position in the history to the node. */
export function encodeCursor(e: EventPosition): string {
  return `${e.blockNumber}.${e.logIndex}.${e.leafIndex === null ? 0 : e.leafIndex + 1}`
}

export function decodeCursor(text: string): EventPosition | undefined {
  const m = CURSOR.exec(text)
  if (!m) return undefined
  const leaf = Number(m[3])
  return { blockNumber: Number(m[1]), logIndex: Number(m[2]), leafIndex: leaf === 0 ? null : leaf - 1 }
}

/** The query parameters `/compliance_history` takes; any other is refused (422 `unknown_query_parameter`). */
export const ANCHOR_COMPLIANCE_PARAMETERS = ['filters', 'data_hash', 'limit', 'after'] as const

export const AnchorComplianceQuerySchema = z.object({
  filters: anchorFilters,
  data_hash: z
    .string()
    .regex(DATA_HASH_INPUT_PATTERN, { message: 'data_hash must be 64 hex digits (SHA-256)' })
    .transform((h) => h.toLowerCase())
    .optional()
    .openapi({ param: { name: 'data_hash', in: 'query' } }),
  limit: z.coerce
    .number({ message: 'limit must be an integer' })
    .int({ message: 'limit must be an integer' })
    .min(1, { message: 'limit must be at least 1' })
    .max(1000, { message: 'limit must be at most 1000' })
    .optional()
    .default(100)
    .openapi({ param: { name: 'limit', in: 'query' }, example: 100 }),
  after: z
    .string()
    .transform((text, ctx) => {
      const position = decodeCursor(text)
      if (!position) {
        ctx.addIssue({ code: 'custom', message: 'after must be a next_after value of an earlier page' })
        return z.NEVER
      }
      return position
    })
    .optional()
    .openapi({
      param: { name: 'after', in: 'query' },
      type: 'string',
      description: 'next_after of the page before'
    })
})

export type AnchorComplianceQuery = z.infer<typeof AnchorComplianceQuerySchema>

/** An event as the anchor's code returns it (`type`, `hash`, `block`, `tx_hash`), besides our keys. */
export const AnchorComplianceEventSchema = ComplianceEventSchema.extend({
  recipient: z.string().nullable().openapi({
    description:
      'the recipient as the client that asked for the share named it (0x address or PeerId); the PeerId for a share this node received'
  }),
  type: z.string().openapi({ description: 'the event type, as event_type' }),
  hash: z.string().nullable().openapi({ description: 'the data hash, as data_hash' }),
  block: z.number().int().openapi({ description: 'the block number, as block_number' })
}).openapi('AnchorComplianceEvent')

export const AnchorComplianceHistorySchema = z
  .object({
    history: z.array(AnchorComplianceEventSchema),
    count: z.number().int(),
    filters: z.array(z.string()).nullable().openapi({ description: 'null when no filter was given' }),
    next_after: z.string().nullable().openapi({
      description: 'pass as `after` for the next (older) page; null on the last page'
    }),
    _metadata: MetadataSchema
  })
  .openapi('AnchorComplianceHistory')

/** `/verify_data`: `event_type` is always `data_share`, as the anchor answers it. */
export const AnchorVerifyResponseSchema = VerifyResponseSchema.extend({
  event_type: z.literal('data_share')
}).openapi('AnchorVerifyResponse')

/** `/network/stats` with the keys of the anchor's `get_network_stats`. */
export const AnchorNetworkStatsSchema = NetworkStatsSchema.extend({
  active_peers: z.number().int().openapi({ description: 'peers with an open connection' }),
  bootstrap_nodes: z.number().int().openapi({ description: 'configured bootstrap peers' }),
  avg_latency_ms: z.number().openapi({ description: 'mean latency of the healthy peers; 0 when none' })
}).openapi('AnchorNetworkStats')

/** A peer as the anchor's `get_connected_peers` returns it. */
export const AnchorPeerSchema = z
  .object({
    host: z
      .string()
      .nullable()
      .openapi({ description: "from the peer's first TCP multiaddr; null if it has none" }),
    port: z.number().int().nullable(),
    node_id: z.string().openapi({ description: 'the PeerId' }),
    last_seen: z.number().openapi({ description: 'Unix seconds; 0 when never seen' }),
    latency_ms: z.number(),
    success_rate: z.number(),
    healthy: z.boolean()
  })
  .openapi('AnchorPeer')

export const AnchorPeersSchema = z
  .object({ peers: z.array(AnchorPeerSchema), count: z.number().int(), _metadata: MetadataSchema })
  .openapi('AnchorPeers')

/** `?healthy=`: external_api.py `request.query.get('healthy', 'false').lower() == 'true'`. */
export const AnchorPeersQuerySchema = z.object({
  healthy: z
    .string()
    .optional()
    .transform((v) => (v ?? 'false').toLowerCase() === 'true')
    .openapi({ param: { name: 'healthy', in: 'query' }, type: 'string', example: 'true' })
})
