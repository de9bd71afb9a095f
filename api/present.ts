import type { z } from '@hono/zod-openapi'
import type {
  AuditEvidence,
  ComplianceEvent,
  NetworkStats,
  PeerView,
  RecordView,
  ShareView,
  Verification
} from '../node/core/ports.ts'
import type { Tier } from '../node/core/share.ts'
import type { MetadataSchema } from './schemas/common.ts'
import type {
  ComplianceEventSchema,
  ComplianceHistorySchema,
  DataResponseSchema,
  EvidenceSchema,
  VerifyResponseSchema
} from './schemas/records.ts'
import type { NetworkStatsSchema, PeerListSchema, PeerSchema } from './schemas/network.ts'
import type {
  ShareDataResponseSchema,
  ShareListSchema,
  ShareResourceSchema,
  ShareSchema
} from './schemas/share.ts'

/** Port views to wire shapes (snake_case, as the anchor's API). One function per shape. */

export type Metadata = z.infer<typeof MetadataSchema>

export function metadata(tier: Tier | null): Metadata {
  return { security_tier: tier, attestation: null, api_version: '1' }
}

export function shareDataResponse(view: ShareView): z.infer<typeof ShareDataResponseSchema> {
  return {
    success: true,
    tx_hash: view.txHash,
    tx_hash_pending_reason: view.txHashPendingReason,
    recipient: view.recipientLabel,
    share_id: view.shareId,
    data_hash: view.dataHash,
    status: { delivery: view.delivery, audit: view.audit },
    _metadata: metadata(view.tier)
  }
}

export function share(view: ShareView): z.infer<typeof ShareSchema> {
  return {
    id: view.shareId,
    direction: view.direction,
    data_hash: view.dataHash,
    sender: view.sender,
    recipient: view.recipient,
    recipient_label: view.recipientLabel,
    security_tier: view.tier,
    status: { delivery: view.delivery, audit: view.audit },
    tx_hash: view.txHash,
    tx_hash_pending_reason: view.txHashPendingReason,
    attempts: view.attempts,
    last_error: view.lastError,
    created_at: view.createdAt,
    updated_at: view.updatedAt
  }
}

export function shareResource(view: ShareView): z.infer<typeof ShareResourceSchema> {
  return { share: share(view), _metadata: metadata(view.tier) }
}

export function shareList(
  views: readonly ShareView[],
  nextAfter: string | null
): z.infer<typeof ShareListSchema> {
  const shares = views.map(share)
  return { shares, count: shares.length, next_after: nextAfter, _metadata: metadata(null) }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export function record(view: RecordView): z.infer<typeof DataResponseSchema> {
  let data: string
  let encoding: 'utf8' | 'base64' = 'utf8'
  try {
    data = strictUtf8.decode(view.data)
  } catch {
    data = Buffer.from(view.data).toString('base64')
    encoding = 'base64'
  }
  return {
    hash: view.dataHash,
    data,
    encoding,
    size_bytes: view.sizeBytes,
    created_at: view.createdAt,
    _metadata: metadata(view.tier)
  }
}

export function evidence(v: Verification): z.infer<typeof EvidenceSchema> | null {
  return v.evidence ? evidenceOf(v.evidence) : null
}

function evidenceOf(e: AuditEvidence): z.infer<typeof EvidenceSchema> {
  return {
    tx_hash: e.txHash,
    block_number: e.blockNumber,
    contract_address: e.contractAddress,
    share_id: e.shareId,
    leaf: e.leaf,
    merkle_root: e.merkleRoot,
    proof: e.proof ? [...e.proof] : null,
    confirmations: e.confirmations
  }
}

export function verification(hash: string, v: Verification): z.infer<typeof VerifyResponseSchema> {
  return {
    hash,
    verified: v.verified,
    reason: v.reason,
    event_type: v.eventType,
    evidence: evidence(v),
    shares: v.shares.map((s) => ({
      share_id: s.shareId,
      sender: s.sender,
      recipient: s.recipient,
      tier: s.tier,
      verified: s.verified,
      reason: s.reason,
      confirmations: s.confirmations
    })),
    refused: v.refused.map((e) => ({
      ...evidenceOf(e),
      event_type: e.eventType,
      submitter: e.submitter,
      reason: e.reason
    })),
    _metadata: metadata(null)
  }
}

export function complianceEvent(e: ComplianceEvent): z.infer<typeof ComplianceEventSchema> {
  return {
    event_type: e.eventType,
    data_hash: e.dataHash,
    share_id: e.shareId,
    sender: e.sender,
    recipient: e.recipient,
    recipient_label: e.recipientLabel,
    timestamp: e.timestamp,
    tx_hash: e.txHash,
    block_number: e.blockNumber
  }
}

export function complianceHistory(
  events: readonly ComplianceEvent[],
  filters: string[]
): z.infer<typeof ComplianceHistorySchema> {
  const history = events.map(complianceEvent)
  return { history, count: history.length, filters, _metadata: metadata(null) }
}

export function networkStats(s: NetworkStats): z.infer<typeof NetworkStatsSchema> {
  return {
    total_peers: s.totalPeers,
    healthy_peers: s.healthyPeers,
    data_sent: s.bytesSent,
    data_received: s.bytesReceived,
    uptime: Math.floor(s.uptimeSeconds),
    peer_id: s.peerId,
    connections: s.connections,
    listen_addresses: [...s.listenAddresses],
    _metadata: metadata(null)
  }
}

export function peer(p: PeerView): z.infer<typeof PeerSchema> {
  return {
    peer_id: p.peerId,
    addresses: [...p.addresses],
    trust: p.trust,
    status: p.status,
    connected: p.connected,
    healthy: p.healthy,
    latency_ms: p.latencyMs,
    last_seen_at: p.lastSeenAt,
    eth_address: p.ethAddress
  }
}

export function peerList(views: readonly PeerView[]): z.infer<typeof PeerListSchema> {
  const peers = views.map(peer)
  return { peers, count: peers.length, _metadata: metadata(null) }
}
