import { z } from '@hono/zod-openapi'
import { booleanQuery, MetadataSchema } from './common.ts'

/** `GET /v1/network/stats`: the anchor's documented fields, then ours (the anchor path adds its code's, api/schemas/anchor.ts). */
export const NetworkStatsSchema = z
  .object({
    total_peers: z.number().int(),
    healthy_peers: z.number().int(),
    data_sent: z.number().int(),
    data_received: z.number().int(),
    uptime: z.number().int().openapi({ description: 'seconds' }),
    peer_id: z.string(),
    connections: z.number().int(),
    listen_addresses: z.array(z.string()),
    _metadata: MetadataSchema
  })
  .openapi('NetworkStats')

export const PeerSchema = z
  .object({
    peer_id: z.string(),
    addresses: z.array(z.string()),
    trust: z.enum(['unknown', 'pinned', 'allowlisted', 'ca']),
    status: z.enum(['active', 'denied']),
    connected: z.boolean(),
    healthy: z.boolean(),
    latency_ms: z.number().nullable(),
    last_seen_at: z.string().nullable(),
    eth_address: z.string().nullable()
  })
  .openapi('Peer')

export const PeerListSchema = z
  .object({ peers: z.array(PeerSchema), count: z.number().int(), _metadata: MetadataSchema })
  .openapi('PeerList')

export const PeersQuerySchema = z.object({
  healthy: booleanQuery.openapi({ param: { name: 'healthy', in: 'query' }, example: 'true' })
})
