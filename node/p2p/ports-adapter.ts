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
  type ShareOptions,
  type ShareService,
  type ShareView,
  shareView,
  UnknownRecipientError
} from '../core/ports.ts'
import type { AuditMode, DeliveryState } from '../core/share.ts'
import type { StoredShare } from '../core/share-ports.ts'
import type { ShareRepository } from '../store/shares.ts'
import type { PeerEntry } from './peer-book.ts'
import type { P2pService } from './p2p-service.ts'
import type { QueuedShare } from './p2p-types.ts'

/**
 * The API's ports (node/core/ports.ts) implemented by the P2P service: `ShareService` (queue a share,
 * read shares with their audit state), `NetworkService` (stats, peer book, allow/deny), `DataService`
 * (get by hash: local first, then the fetch protocol) and the p2p health probe. Foreign errors are
 * translated here into port errors, keeping the original as `cause`.
 */

function isNamed(err: unknown, ...names: string[]): err is Error {
  return err instanceof Error && names.includes(err.name)
}

export interface ShareServiceComponents {
  readonly p2p: P2pService
  /**
   * The shares as the API reads them, with where their audit stands. Called once, at the first
   * request: the store opens the database only at its own start.
   */
  readonly shares: () => Pick<ShareRepository, 'view' | 'page' | 'auditOf'>
  /** `chain.mode`: says why a share has no transaction hash yet. */
  readonly auditMode: AuditMode
}

/**
 * Shares: queued by the p2p service in groups (`queueShare`: the acceptances of one turn of the
 * event loop share one transaction and one commit), read from the store with their audit state in
 * one query each. The audit publisher is woken by the audit hooks after the share's transaction
 * commits (node/audit/p2p-hooks.ts). In per-share mode those hooks sign the share's transaction
 * inside that transaction, so the outbox row read here carries its hash from the share's first answer.
 */
export function createShareService(components: ShareServiceComponents): ShareService {
  const { p2p, auditMode } = components
  let opened: Pick<ShareRepository, 'view' | 'page' | 'auditOf'> | undefined
  const shares = () => {
    opened ??= components.shares()
    return opened
  }
  return {
    async share(req, options: ShareOptions = {}) {
      options.signal?.throwIfAborted()
      const { alsoInTransaction } = options
      // Opened before the share's transaction: building the repository prepares statements that
      // SQLite refuses inside one.
      const repository = shares()
      // With a caller's writes in the transaction, the view it gets is the one answered: one read.
      let viewed: ShareView | undefined
      let queued: QueuedShare
      try {
        queued = await p2p.queueShare({
          data: req.data,
          recipient: req.recipient,
          tier: req.tier,
          ...(alsoInTransaction
            ? {
                alsoInTransaction: (share: StoredShare) => {
                  viewed = shareView(share, repository.auditOf(share.shareId), auditMode)
                  alsoInTransaction(viewed)
                }
              }
            : {})
        })
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
      return viewed ?? shareView(queued.share, repository.auditOf(queued.shareId), auditMode)
    },
    async getShare(shareId) {
      return shares().view(shareId, auditMode)
    },
    async listShares(filter) {
      return shares().page(
        { state: filter.state, after: filter.after, limit: Math.min(filter.limit ?? 100, 1000) },
        auditMode
      )
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
    ethAddress: p.ethAddress,
    successRate: p.successRate
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
        listenAddresses: p2p.multiaddrs,
        bootstrapPeers: s.bootstrapPeers
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
