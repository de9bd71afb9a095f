import type {
  AuditState,
  CallOptions,
  DataService,
  DeliveryState,
  EventBus,
  NetworkService,
  NetworkStats,
  PeerView,
  ShareView as PortShareView,
  RecordView,
  ShareService
} from '../core/ports.ts'
import { DependencyUnavailableError, InvalidRequestError, ResourceNotFoundError } from '../core/ports.ts'
import { InvalidShareRequestError } from './errors.ts'
import type { PeerEntry } from './peer-book.ts'
import type { P2pService } from './p2p-service.ts'
import type { P2pEvents, ShareView } from './p2p-types.ts'

/**
 * The API's ports (node/core/ports.ts) implemented by the P2P service: `ShareService` (queue, status,
 * list, counts; audit state supplied by the audit trail), `NetworkService` (stats, peer book,
 * allow/deny) and `DataService` (get by hash: local first, then the fetch protocol).
 */

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

/** Where a share's audit event stands; supplied by the audit trail at wiring time. */
export type AuditStateOf = (shareId: string) => { audit: AuditState; txHash: string | null } | undefined

function portShareView(view: ShareView, auditOf: AuditStateOf | undefined): PortShareView {
  const audit = auditOf?.(view.shareId)
  return {
    shareId: view.shareId,
    direction: view.direction,
    dataHash: view.dataHash,
    sender: view.sender,
    recipient: view.recipient,
    recipientLabel: view.recipientLabel ?? view.recipient,
    tier: view.tier,
    delivery: view.state,
    audit: audit?.audit ?? 'pending',
    txHash: audit?.txHash ?? null,
    attempts: view.attempts,
    lastError: view.lastError,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt
  }
}

/** Translates the share refusals of this layer into the API's port errors (one status code each). */
function toPortError(err: unknown): unknown {
  if (!(err instanceof Error)) return err
  const options = { cause: err }
  if (err instanceof InvalidShareRequestError) return new InvalidRequestError(err.field, err.message, options)
  if (err.name === 'PeerDeniedError') return new InvalidRequestError('recipient', err.message, options)
  if (err.name === 'AttestationUnavailableError') {
    return new DependencyUnavailableError('attestation', err.message, options)
  }
  return err
}

export function createShareService(p2p: P2pService, opts: { auditOf?: AuditStateOf } = {}): ShareService {
  return {
    async share(request, options = {}) {
      options.signal?.throwIfAborted()
      let shareId: string
      try {
        shareId = p2p.shareData(request).shareId
      } catch (err) {
        throw toPortError(err)
      }
      return portShareView(p2p.getShare(shareId), opts.auditOf)
    },
    async getShare(shareId) {
      try {
        return portShareView(p2p.getShare(shareId), opts.auditOf)
      } catch (err) {
        if (err instanceof Error && err.name === 'ShareNotFoundError') return undefined
        throw err
      }
    },
    async listShares(filter) {
      const direction = filter.state === undefined ? undefined : filter.state === 'received' ? 'in' : 'out'
      return p2p
        .listShares({
          ...(direction ? { direction } : {}),
          ...(filter.state ? { state: filter.state } : {}),
          ...(filter.limit === undefined ? {} : { limit: filter.limit })
        })
        .map((view) => portShareView(view, opts.auditOf))
    },
    async countByState() {
      const counts: Partial<Record<DeliveryState, number>> = {}
      for (const [key, n] of Object.entries(p2p.countShares())) {
        const state = key.split(':')[1] as DeliveryState
        counts[state] = (counts[state] ?? 0) + n
      }
      return counts
    }
  }
}

/**
 * Publishes the P2P service's events on the API's event bus (Server-Sent Events): share.accepted,
 * share.delivered, share.retrying / share.failed, share.received, peer.verified, peer.refused.
 * Returns the function that detaches it.
 */
export function publishP2pEvents(p2p: P2pService, bus: EventBus): () => void {
  const publish = (type: string, data: Record<string, unknown>) => bus.publish({ type, at: Date.now(), data })
  const brief = (s: ShareView) => ({
    shareId: s.shareId,
    dataHash: s.dataHash,
    sender: s.sender,
    recipient: s.recipient,
    tier: s.tier,
    state: s.state
  })
  const listeners: { [K in keyof P2pEvents]?: (...args: P2pEvents[K]) => void } = {
    'share:queued': ({ share }) => publish('share.accepted', brief(share)),
    'share:delivered': ({ share }) => publish('share.delivered', brief(share)),
    'share:attempt-failed': ({ share, error, final }) =>
      publish(final ? 'share.failed' : 'share.retrying', {
        ...brief(share),
        error,
        attempts: share.attempts
      }),
    'share:received': ({ share }) => publish('share.received', brief(share)),
    'peer:verified': (e) => publish('peer.verified', { ...e }),
    refused: (e) => publish('peer.refused', { ...e })
  }
  const on = p2p.on.bind(p2p) as (event: string, listener: (...args: never[]) => void) => unknown
  const off = p2p.off.bind(p2p) as (event: string, listener: (...args: never[]) => void) => unknown
  for (const [event, listener] of Object.entries(listeners)) on(event, listener)
  return () => {
    for (const [event, listener] of Object.entries(listeners)) off(event, listener)
  }
}
