import { AttestationNotConfiguredError } from '../core/errors.ts'
import {
  type CallOptions,
  type DataService,
  DependencyUnavailableError,
  type HealthProbe,
  InvalidRequestError,
  type NetworkService,
  type NetworkStats,
  type PeerView,
  type RecordView,
  ResourceNotFoundError,
  type ShareService,
  type ShareView,
  UnknownRecipientError
} from '../core/ports.ts'
import { type AuditMode, type AuditState, type DeliveryState, txHashPendingReason } from '../core/share.ts'
import type { AuditProgressRepository } from '../store/audit-progress.ts'
import type { ShareRepository } from '../store/shares.ts'
import type { PeerEntry } from './peer-book.ts'
import type { P2pService } from './p2p-service.ts'
import type { P2pShareView, QueuedShare } from './p2p-types.ts'

/**
 * The API's ports (node/core/ports.ts) implemented by the P2P service: `ShareService` (queue a share,
 * read shares with their audit state), `NetworkService` (stats, peer book, allow/deny), `DataService`
 * (get by hash: local first, then the fetch protocol) and the p2p health probe. Foreign errors are
 * translated here into port errors, keeping the original as `cause`.
 */

function isNamed(err: unknown, ...names: string[]): err is Error {
  return err instanceof Error && names.includes(err.name)
}

/** Where a share's audit stands: its receipt's event once there is one, else the share's own. */
function auditOf(
  progress: AuditProgressRepository,
  shareId: string
): { audit: AuditState; txHash: string | null } {
  const rows = progress.outboxOfShare(shareId)
  if (rows.length === 0) {
    // A received share is anchored by its sender: this node sees it in its index of the chain.
    const seen = progress.anchoredTxOf(shareId)
    return seen !== undefined ? { audit: 'confirmed', txHash: seen } : { audit: 'pending', txHash: null }
  }
  const row = rows.find((r) => r.kind === 'receipt') ?? rows.find((r) => r.kind === 'share')
  const txHash =
    rows.find((r) => r.kind === 'receipt' && r.txHash)?.txHash ?? rows.find((r) => r.txHash)?.txHash
  return { audit: row?.state ?? 'pending', txHash: txHash ?? null }
}

function toShareView(progress: AuditProgressRepository, mode: AuditMode, s: P2pShareView): ShareView {
  const audit = auditOf(progress, s.shareId)
  return {
    shareId: s.shareId,
    direction: s.direction,
    dataHash: s.dataHash,
    sender: s.sender,
    recipient: s.recipient,
    recipientLabel: s.recipientLabel ?? s.recipient,
    tier: s.tier,
    delivery: s.state as DeliveryState,
    ...audit,
    txHashPendingReason: txHashPendingReason({ direction: s.direction, ...audit }, mode),
    attempts: s.attempts,
    lastError: s.lastError,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt
  }
}

/** What the share service reads from the store besides the p2p service: share ids and audit progress. */
export interface ShareServiceStore {
  readonly shares: Pick<ShareRepository, 'listIds'>
  readonly auditProgress: AuditProgressRepository
}

export interface ShareServiceComponents {
  readonly p2p: P2pService
  /** Called once, at the first request: the store opens the database only at its own start. */
  readonly repositories: () => ShareServiceStore
  /** `chain.mode`: says why a share has no transaction hash yet. */
  readonly auditMode: AuditMode
}

/**
 * Shares: queued by the p2p service, audit state read from the outbox. The audit publisher is woken
 * once per share, by the audit hooks after the share's transaction commits (node/audit/p2p-hooks.ts).
 * In per-share mode those hooks sign the share's transaction inside that transaction, so the
 * outbox row read here carries its hash from the share's first answer.
 */
export function createShareService({ p2p, repositories, auditMode }: ShareServiceComponents): ShareService {
  let opened: ShareServiceStore | undefined
  const store = () => {
    opened ??= repositories()
    return opened
  }
  const get = (shareId: string) => {
    try {
      return toShareView(store().auditProgress, auditMode, p2p.getShare(shareId))
    } catch (err) {
      if (isNamed(err, 'ShareNotFoundError')) return undefined
      throw err
    }
  }
  return {
    async share(req, options: CallOptions = {}) {
      options.signal?.throwIfAborted()
      let queued: QueuedShare
      try {
        queued = p2p.shareData({ data: req.data, recipient: req.recipient, tier: req.tier })
      } catch (err) {
        if (isNamed(err, 'UnknownRecipientError'))
          throw new UnknownRecipientError(err.message, { cause: err })
        if (isNamed(err, 'PeerDeniedError')) {
          throw new InvalidRequestError('recipient', 'the recipient is denied by this node', { cause: err })
        }
        // The request is fine, this node lacks a verifier: 503, as README "Maximum tier: TPM attestation" says.
        if (err instanceof AttestationNotConfiguredError)
          throw new DependencyUnavailableError('attestation', err.message, { cause: err })
        if (isNamed(err, 'InvalidShareRequestError')) {
          const field = (err as Error & { field?: string }).field ?? 'data'
          throw new InvalidRequestError(field, err.message, { cause: err })
        }
        throw err
      }
      // The row its transaction wrote: no read back.
      return toShareView(store().auditProgress, auditMode, queued.share)
    },
    async getShare(shareId) {
      return get(shareId)
    },
    async listShares(filter) {
      const ids = store().shares.listIds({ state: filter.state, limit: Math.min(filter.limit ?? 100, 1000) })
      return ids.map((id) => get(id)).filter((v): v is ShareView => v !== undefined)
    },
    async countByState() {
      const counts: Partial<Record<DeliveryState, number>> = {}
      for (const [key, n] of Object.entries(p2p.stats().shares)) {
        const state = key.split(':')[1] as DeliveryState
        counts[state] = (counts[state] ?? 0) + n
      }
      return counts
    }
  }
}

/** Health of the p2p layer (peers and connections), for `/health` on both APIs. */
export function p2pHealthProbe(p2p: Pick<P2pService, 'stats'>): HealthProbe {
  return {
    name: 'p2p',
    check: async () => {
      const s = p2p.stats()
      return {
        status: 'up',
        detail: { peers: s.totalPeers, healthy_peers: s.healthyPeers, connections: s.connectedPeers }
      }
    }
  }
}

function peerView(p: PeerEntry & { connected: boolean }): PeerView {
  return {
    peerId: p.peerId,
    addresses: p.addresses,
    trust: p.trust,
    status: p.status,
    connected: p.connected,
    healthy: p.healthy,
    latencyMs: p.latencyMs,
    lastSeenAt: p.lastSeenAt,
    ethAddress: p.ethAddress
  }
}

function onePeer(p2p: P2pService, peerId: string): PeerView {
  const peer = p2p.peers().find((p) => p.peerId === peerId)
  if (!peer) throw new ResourceNotFoundError('peer', `no peer ${peerId}`)
  return peerView(peer)
}

/** Network stats, the peer book and allow/deny. */
export function createNetworkService(p2p: P2pService): NetworkService {
  return {
    async stats(): Promise<NetworkStats> {
      const s = p2p.stats()
      return {
        peerId: s.peerId,
        totalPeers: s.totalPeers,
        healthyPeers: s.healthyPeers,
        connections: s.connectedPeers,
        bytesSent: s.bytesOut,
        bytesReceived: s.bytesIn,
        uptimeSeconds: s.uptimeSeconds,
        listenAddresses: p2p.multiaddrs
      }
    },
    async peers(filter) {
      return p2p.peers(filter.healthy === undefined ? {} : { healthy: filter.healthy }).map(peerView)
    },
    async allow(peerId) {
      p2p.allowPeer(peerId)
      return onePeer(p2p, peerId)
    },
    async deny(peerId) {
      await p2p.denyPeer(peerId)
      return onePeer(p2p, peerId)
    }
  }
}

/** Records by hash: the local store first, then the fetch protocol. */
export function createDataService(p2p: P2pService): DataService {
  return {
    async getByHash(dataHash: string, options: CallOptions = {}): Promise<RecordView | undefined> {
      let data: Uint8Array
      try {
        data = (await p2p.getRecord(dataHash, options)).data
      } catch (err) {
        if (err instanceof Error && err.name === 'RecordNotFoundError') return undefined
        throw err
      }
      const info = p2p.recordInfo(dataHash)
      return {
        dataHash,
        data,
        sizeBytes: data.byteLength,
        tier: p2p.sharesOf(dataHash)[0]?.tier ?? 'standard',
        createdAt: info?.createdAt ?? new Date().toISOString()
      }
    }
  }
}
