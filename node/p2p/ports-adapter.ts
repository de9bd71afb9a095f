import type {
  CallOptions,
  DataService,
  NetworkService,
  NetworkStats,
  PeerView,
  RecordView
} from '../core/ports.ts'
import { ResourceNotFoundError } from '../core/ports.ts'
import type { PeerEntry } from './peer-book.ts'
import type { P2pService } from './p2p-service.ts'

/**
 * The API's ports (node/core/ports.ts) implemented by the P2P service: `NetworkService` (stats, peer
 * book, allow/deny) and `DataService` (get by hash: local first, then the fetch protocol).
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
