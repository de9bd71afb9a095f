import type { z } from '@hono/zod-openapi'
import type { ComplianceEvent, NetworkStats, PeerView, Verification } from '../node/core/ports.ts'
import { complianceEvent, metadata, networkStats, verification } from './present.ts'
import type {
  AnchorComplianceHistorySchema,
  AnchorNetworkStatsSchema,
  AnchorPeerSchema,
  AnchorPeersSchema,
  AnchorVerifyResponseSchema
} from './schemas/anchor.ts'
import { encodeCursor } from './schemas/anchor.ts'

/** Port views to the shapes of the anchor's paths (api/schemas/anchor.ts). */

export function anchorComplianceHistory(
  events: readonly ComplianceEvent[],
  filters: string[] | null,
  more: boolean
): z.infer<typeof AnchorComplianceHistorySchema> {
  const history = events.map((e) => ({
    ...complianceEvent(e),
    // The address the client sent (the anchor's history names recipients so); a received share's
    // recipient is this node, named by its PeerId.
    recipient: e.recipientLabel ?? e.recipient,
    type: e.eventType,
    hash: e.dataHash,
    block: e.blockNumber
  }))
  const last = events[events.length - 1]
  return {
    history,
    count: history.length,
    filters,
    next_after: more && last ? encodeCursor(last) : null,
    _metadata: metadata(null)
  }
}

export function anchorVerification(
  hash: string,
  v: Verification
): z.infer<typeof AnchorVerifyResponseSchema> {
  // external_api.py answers `'event_type': 'data_share'` whatever it found.
  return { ...verification(hash, v), event_type: 'data_share' }
}

export function anchorNetworkStats(
  s: NetworkStats,
  healthy: readonly PeerView[]
): z.infer<typeof AnchorNetworkStatsSchema> {
  // p2p_network.py: the mean of the healthy peers' latency_ms (0 for a peer never measured), else 0.
  const latencies = healthy.map((p) => p.latencyMs ?? 0)
  return {
    ...networkStats(s),
    active_peers: s.connections,
    bootstrap_nodes: s.bootstrapPeers,
    avg_latency_ms: latencies.length === 0 ? 0 : latencies.reduce((a, b) => a + b, 0) / latencies.length
  }
}

const TCP_ADDRESS = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/([0-9]{1,5})(?:\/|$)/

export function anchorPeer(p: PeerView): z.infer<typeof AnchorPeerSchema> {
  const tcp = p.addresses.map((a) => TCP_ADDRESS.exec(a)).find((m) => m !== null)
  return {
    host: tcp?.[2] ?? null,
    port: tcp ? Number(tcp[3]) : null,
    node_id: p.peerId,
    last_seen: p.lastSeenAt === null ? 0 : Date.parse(p.lastSeenAt) / 1000,
    latency_ms: p.latencyMs ?? 0,
    success_rate: p.successRate ?? 0,
    healthy: p.healthy
  }
}

/** The anchor's peer list: most recently seen first (`sorted(peers, key=lambda p: -p['last_seen'])`). */
export function anchorPeers(views: readonly PeerView[]): z.infer<typeof AnchorPeersSchema> {
  const peers = views.map(anchorPeer).sort((a, b) => b.last_seen - a.last_seen)
  return { peers, count: peers.length, _metadata: metadata(null) }
}
