import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import {
  type AuditReader,
  type ComplianceEvent,
  type DataService,
  type HealthProbe,
  type KeyRingAdmin,
  type NetworkService,
  type NodeIdentitySource,
  type Outbox,
  type OutboxEntryView,
  type PeerView,
  ResourceNotFoundError,
  type SecurityLogWriter,
  type ShareService,
  type ShareView,
  StateConflictError,
  UnknownRecipientError
} from '../../node/core/ports.ts'
import type { Logger } from '../../node/log/logger.ts'
import { type Db, openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { createApiKeyStore } from '../../node/store/api-keys.ts'
import { createIdempotencyStore } from '../../node/store/idempotency-keys.ts'
import { WebhookRepository } from '../../node/store/webhooks.ts'
import { createWebhookAdmin } from '../../node/webhooks/admin.ts'
import { EventLogRepository } from '../../node/store/event-log.ts'
import type { InternalApiPorts } from '../deps.ts'
import { createEventSignal } from '../event-bus.ts'
import { createApiMetrics } from '../metrics.ts'

/**
 * In-memory stand-ins for the node's services, for `app.request()` tests of the API layer only.
 * API keys are the real store over a SQLite file in a temp dir.
 */

export const PEER_A = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
export const PEER_B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
export const UNKNOWN_ETH = '0x000000000000000000000000000000000000dEaD'

export interface Recorded {
  readonly security: { kind: string; detail: Readonly<Record<string, unknown>> }[]
  readonly shareCalls: { recipient: string; tier: string; bytes: number }[]
}

export interface Harness {
  readonly ports: InternalApiPorts
  readonly recorded: Recorded
  readonly db: Db
  /** Moves the API-key clock. */
  readonly clock: { now: Date }
  close(): void
}

export interface HarnessInit {
  /** The API's logger; silent unless given (tests that assert on log lines pass a capturing one). */
  readonly logger?: Logger
}

export function createHarness(init: HarnessInit = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-api-'))
  const db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  const clock = { now: new Date() }
  const recorded: Recorded = { security: [], shareCalls: [] }
  const securityLog: SecurityLogWriter = {
    append: (kind, detail) => void recorded.security.push({ kind, detail })
  }
  const shares = new Map<string, ShareView>()
  const records = new Map<string, { data: Uint8Array; view: ShareView }>()
  const outbox: OutboxEntryView[] = [
    entry(1, 'failed', 'rpc timeout'),
    entry(2, 'pending', null),
    entry(3, 'confirmed', null)
  ]
  const peers: PeerView[] = [
    peerView(PEER_B, true),
    peerView('12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', false)
  ]

  const shareService: ShareService = {
    async share(req, options) {
      options?.signal?.throwIfAborted()
      if (req.recipient === UNKNOWN_ETH)
        throw new UnknownRecipientError('no peer is known for this recipient')
      recorded.shareCalls.push({ recipient: req.recipient, tier: req.tier, bytes: req.data.length })
      const now = new Date().toISOString()
      const view: ShareView = {
        shareId: randomBytes(16).toString('hex'),
        direction: 'out',
        dataHash: createHash('sha256').update(req.data).digest('hex'),
        sender: PEER_A,
        recipient: PEER_B,
        recipientLabel: req.recipient,
        tier: req.tier,
        delivery: 'queued',
        audit: 'pending',
        txHash: null,
        txHashPendingReason: 'awaiting_chain',
        attempts: 0,
        lastError: null,
        createdAt: now,
        updatedAt: now
      }
      // As the node does: what the caller writes in the share's transaction commits with it.
      if (options?.alsoInTransaction) db.transaction(options.alsoInTransaction)(view)
      shares.set(view.shareId, view)
      records.set(view.dataHash, { data: req.data, view })
      return view
    },
    async getShare(id) {
      return shares.get(id)
    },
    async listShares(filter) {
      // Positions are 1-based insertion order, newest first, as the store's rowids.
      const all = [...shares.values()]
        .map((s, i) => ({ s, seq: i + 1 }))
        .reverse()
        .filter(
          ({ s, seq }) =>
            (!filter.state || s.delivery === filter.state) &&
            (filter.after === undefined || seq < filter.after)
        )
      const limit = filter.limit ?? 100
      const page = all.slice(0, limit)
      return {
        shares: page.map(({ s }) => s),
        nextAfter: all.length > limit ? (page[page.length - 1]?.seq ?? null) : null
      }
    },
    async countByState() {
      const counts: Record<string, number> = {}
      for (const s of shares.values()) counts[s.delivery] = (counts[s.delivery] ?? 0) + 1
      return counts
    }
  }
  const data: DataService = {
    async getByHash(hash) {
      const r = records.get(hash)
      if (!r) return undefined
      return {
        dataHash: hash,
        data: r.data,
        sizeBytes: r.data.length,
        tier: r.view.tier,
        createdAt: r.view.createdAt
      }
    }
  }
  const audit: AuditReader = {
    async verify(hash) {
      const r = records.get(hash)
      if (!r)
        return {
          dataHash: hash,
          verified: false,
          reason: 'not_found',
          eventType: null,
          evidence: null,
          shares: [],
          refused: []
        }
      return {
        dataHash: hash,
        verified: true,
        reason: null,
        eventType: 'data_share',
        shares: [
          {
            shareId: r.view.shareId,
            sender: PEER_A,
            recipient: PEER_B,
            tier: r.view.tier,
            verified: true,
            reason: null,
            confirmations: 1
          }
        ],
        refused: [],
        evidence: {
          txHash: `0x${'ab'.repeat(32)}`,
          blockNumber: 7,
          contractAddress: `0x${'cd'.repeat(20)}`,
          shareId: r.view.shareId,
          leaf: `0x${'ef'.repeat(32)}`,
          merkleRoot: null,
          proof: null,
          confirmations: 1
        }
      }
    },
    async bundle(hash) {
      const r = records.get(hash)
      return r ? { v: 1, kind: 'dmn-evidence-bundle', dataHash: hash } : undefined
    },
    async complianceHistory(filter) {
      const all: ComplianceEvent[] = [...records.values()].map((r, i) => ({
        eventType: i % 2 === 0 ? 'data_share' : 'data_received',
        dataHash: r.view.dataHash,
        shareId: r.view.shareId,
        sender: PEER_A,
        recipient: PEER_B,
        recipientLabel: r.view.recipientLabel,
        timestamp: 1_700_000_000 + i,
        txHash: `0x${'ab'.repeat(32)}`,
        blockNumber: 7 + i,
        logIndex: 0,
        leafIndex: null
      }))
      const after = filter.after
      // Newest first, as the node's index answers.
      return all
        .reverse()
        .filter((e) => filter.eventTypes.length === 0 || filter.eventTypes.includes(e.eventType))
        .filter((e) => !filter.dataHash || e.dataHash === filter.dataHash)
        .filter((e) => !after || e.blockNumber < after.blockNumber)
        .slice(0, filter.limit)
    },
    async status() {
      return {
        contractAddress: `0x${'cd'.repeat(20)}`,
        chainId: 31337,
        latestBlock: 9,
        pending: 1,
        sent: 0,
        failed: 1,
        lagSeconds: 4
      }
    }
  }
  const network: NetworkService = {
    async stats() {
      return {
        peerId: PEER_A,
        totalPeers: peers.length,
        healthyPeers: peers.filter((p) => p.healthy).length,
        connections: 1,
        bytesSent: 2048,
        bytesReceived: 1024,
        uptimeSeconds: 12.7,
        listenAddresses: ['/ip4/127.0.0.1/tcp/4001'],
        bootstrapPeers: 1
      }
    },
    async peers(filter) {
      return peers.filter((p) => filter.healthy === undefined || p.healthy === filter.healthy)
    },
    async allow(peerId) {
      return setPeer(peerId, { trust: 'allowlisted', status: 'active' })
    },
    async deny(peerId) {
      return setPeer(peerId, { status: 'denied' })
    }
  }
  function setPeer(peerId: string, change: Partial<PeerView>): PeerView {
    const i = peers.findIndex((p) => p.peerId === peerId)
    if (i < 0) throw new ResourceNotFoundError('peer', `no peer ${peerId}`)
    const updated = { ...(peers[i] as PeerView), ...change }
    peers[i] = updated
    return updated
  }
  let primary = 1
  const keyRing: KeyRingAdmin = {
    async status() {
      return {
        primaryVersion: primary,
        minimumVersion: 1,
        versions: Array.from({ length: primary }, (_, i) => ({
          version: i + 1,
          createdAt: '2026-11-23T00:00:00.000Z',
          retired: false
        })),
        recordsByVersion: { '1': records.size },
        signingKeyId: 'aa'.repeat(32),
        encryptionKeyId: 'bb'.repeat(32)
      }
    },
    async rotate() {
      primary++
      return { primaryVersion: primary }
    },
    async rewrap() {
      return { rewrapped: records.size, primaryVersion: primary }
    }
  }
  const identity: NodeIdentitySource = {
    async describe() {
      const peerId = '12D3KooWGRUVh8mpSSbSG4w7rGFBMQWiS1mHTLRhhUcBNhrmH8HK'
      return {
        peerId,
        addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/${peerId}`],
        ethAddress: `0x${'cd'.repeat(20)}`,
        signingKeyFingerprint: 'aa'.repeat(32),
        encryptionKeyFingerprint: 'bb'.repeat(32)
      }
    }
  }
  const outboxPort: Outbox = {
    async list(filter) {
      return outbox
        .filter(
          (e) =>
            (!filter.state || e.state === filter.state) && (filter.after === undefined || e.id < filter.after)
        )
        .sort((a, b) => b.id - a.id)
        .slice(0, filter.limit)
    },
    async retry(id) {
      const i = outbox.findIndex((e) => e.id === id)
      if (i < 0) throw new ResourceNotFoundError('outbox', `no outbox entry ${id}`)
      if (outbox[i]?.state !== 'failed') throw new StateConflictError(`outbox entry ${id} has not failed`)
      const updated: OutboxEntryView = {
        ...(outbox[i] as OutboxEntryView),
        state: 'pending',
        lastError: null
      }
      outbox[i] = updated
      return updated
    }
  }
  const health: HealthProbe[] = [
    { name: 'database', check: async () => ({ status: 'up' }) },
    { name: 'p2p', check: async () => ({ status: 'up', detail: { peers: 1 } }) },
    { name: 'chain', check: async () => ({ status: 'up', detail: { block: 9 } }) }
  ]
  const logger = init.logger ?? pino({ level: 'silent' })
  const ports: InternalApiPorts = {
    shares: shareService,
    data,
    audit,
    network,
    apiKeys: createApiKeyStore(db, { now: () => clock.now }),
    securityLog,
    idempotency: createIdempotencyStore(db),
    health,
    metrics: createApiMetrics({ shares: shareService, audit, network }),
    logger,
    keyRing,
    identity,
    outbox: outboxPort,
    eventLog: new EventLogRepository(db),
    events: createEventSignal(),
    // The real subscriptions over the harness's database; its API ports are 80 and 8081.
    webhooks: createWebhookAdmin({
      subscriptions: () => new WebhookRepository(db),
      events: () => new EventLogRepository(db),
      own: { ports: () => [80, 8081] }
    })
  }
  return {
    ports,
    recorded,
    db,
    clock,
    close() {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

function entry(id: number, state: OutboxEntryView['state'], lastError: string | null): OutboxEntryView {
  return {
    id,
    kind: 'share',
    shareId: null,
    state,
    txHash: state === 'confirmed' ? `0x${'12'.repeat(32)}` : null,
    attempts: state === 'pending' ? 0 : 1,
    lastError,
    createdAt: '2026-11-23T00:00:00.000Z',
    updatedAt: '2026-11-23T00:00:00.000Z'
  }
}

function peerView(peerId: string, healthy: boolean): PeerView {
  return {
    peerId,
    addresses: ['/ip4/127.0.0.1/tcp/4002'],
    trust: 'pinned',
    status: 'active',
    connected: healthy,
    healthy,
    latencyMs: healthy ? 1.5 : null,
    lastSeenAt: healthy ? '2026-11-23T00:00:00.000Z' : '2026-11-22T00:00:00.000Z',
    ethAddress: null,
    successRate: healthy ? 1 : 0.25
  }
}
