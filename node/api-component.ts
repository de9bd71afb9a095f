/**
 * The APIs as a node component, started last and stopped first: builds the ports from the running
 * services, bridges their events to the live event bus, and runs both HTTP servers.
 */
import { createEventBus } from '../api/event-bus.ts'
import { createApiMetrics } from '../api/metrics.ts'
import { ApiServer, type Listening } from '../api/server.ts'
import type { Config } from '../config/index.ts'
import type { AuditService as AuditTrail } from './audit/index.ts'
import {
  createAuditPort,
  createHealthProbes,
  createOutboxPort,
  createSecurityLogPort,
  createShareService
} from './api-ports.ts'
import type { Startable } from './core/lifecycle.ts'
import type {
  ApiKeyRegistry,
  EventBus,
  KeyRingAdmin,
  NodeIdentitySource,
  SecurityLogWriter
} from './core/ports.ts'
import type { Logger } from './log/logger.ts'
import { createDataService, createNetworkService } from './p2p/ports-adapter.ts'
import type { P2pEvents, P2pService } from './p2p/index.ts'
import { createApiKeyStore } from './store/api-keys.ts'
import { AuditProgressRepository } from './store/audit-progress.ts'
import { ShareRepository } from './store/shares.ts'
import type { StoreService } from './store/store-service.ts'

export interface ApiComponentParts {
  readonly config: Config['api']
  readonly logger: Logger
  readonly store: StoreService
  readonly keyRing: KeyRingAdmin
  readonly p2p: P2pService
  readonly audit: AuditTrail
}

// How often confirmed audit events are looked for, to announce them on the event bus.
const CONFIRMATION_POLL_MS = 1_000

const P2P_EVENTS: readonly [keyof P2pEvents, string][] = [
  ['share:queued', 'share.accepted'],
  ['share:delivered', 'share.delivered'],
  ['share:attempt-failed', 'share.delivery_failed'],
  ['share:received', 'share.received'],
  ['peer:verified', 'peer.verified'],
  ['refused', 'security.refused']
]

export class ApiComponent implements Startable {
  readonly name = 'api'
  readonly events: EventBus
  readonly #parts: ApiComponentParts
  #server: ApiServer | undefined
  #apiKeys: ApiKeyRegistry | undefined
  #unbridge: (() => void)[] = []

  constructor(parts: ApiComponentParts) {
    this.#parts = parts
    this.events = createEventBus((err, event) =>
      parts.logger.warn({ err, type: event.type }, 'event listener failed')
    )
  }

  /** Where each API listens; only valid after start. */
  get listening(): { internal: Listening; external: Listening } {
    if (!this.#server) throw new Error('api is not started')
    return this.#server.listening
  }

  /** The API key registry over the node's database; only valid after start. */
  get apiKeys(): ApiKeyRegistry {
    if (!this.#apiKeys) throw new Error('api is not started')
    return this.#apiKeys
  }

  async start(): Promise<void> {
    const { config, logger, store, keyRing, p2p, audit } = this.#parts
    // Built once per start: the store opened the database before this component starts.
    const auditProgress = new AuditProgressRepository(store.db)
    const events = this.events
    const log = createSecurityLogPort(audit)
    const securityLog: SecurityLogWriter = {
      append(kind, detail) {
        log.append(kind, detail)
        events.publish({ type: `security.${kind}`, at: Date.now(), data: detail })
      }
    }
    const shares = createShareService(p2p, { shares: new ShareRepository(store.db), auditProgress }, () =>
      audit.poke()
    )
    const auditPort = createAuditPort(audit)
    const network = createNetworkService(p2p)
    const identity: NodeIdentitySource = {
      async describe(options) {
        const keys = await keyRing.status(options)
        return {
          peerId: p2p.peerId,
          addresses: p2p.multiaddrs,
          ethAddress: audit.account ?? null,
          signingKeyFingerprint: keys.signingKeyId,
          encryptionKeyFingerprint: keys.encryptionKeyId
        }
      }
    }
    this.#apiKeys = createApiKeyStore(store.db)
    this.#bridge(auditProgress)
    const server = new ApiServer(
      {
        shares,
        data: createDataService(p2p),
        audit: auditPort,
        network,
        apiKeys: this.#apiKeys,
        securityLog,
        health: createHealthProbes({ database: store, keyRing, p2p, audit }),
        metrics: createApiMetrics({ shares, audit: auditPort, network, refusals: p2p }),
        logger,
        keyRing,
        identity,
        outbox: createOutboxPort(audit),
        events
      },
      { config }
    )
    try {
      await server.start()
    } catch (err) {
      this.#stopBridge()
      throw err
    }
    this.#server = server
  }

  async stop(): Promise<void> {
    await this.#server?.stop()
    this.#server = undefined
    this.#stopBridge()
  }

  #bridge(auditProgress: AuditProgressRepository): void {
    const { p2p } = this.#parts
    for (const [from, to] of P2P_EVENTS) {
      const listener = (payload: unknown) => {
        this.events.publish({ type: to, at: Date.now(), data: summarize(payload) })
      }
      p2p.on(from, listener as never)
      this.#unbridge.push(() => p2p.off(from, listener as never))
    }
    const announce = watchConfirmations(auditProgress, (row) =>
      this.events.publish({ type: 'audit.confirmed', at: Date.now(), data: row })
    )
    const timer = setInterval(announce, CONFIRMATION_POLL_MS)
    timer.unref()
    this.#unbridge.push(() => clearInterval(timer))
  }

  #stopBridge(): void {
    for (const off of this.#unbridge.splice(0)) off()
  }
}

/**
 * Returns a function that announces outbox entries confirmed since its last call. It follows only
 * the entries not yet settled (by primary key), so its cost stays with the work in flight, not with
 * the size of the outbox.
 */
export function watchConfirmations(
  progress: AuditProgressRepository,
  announce: (row: Record<string, unknown>) => void
): () => void {
  let maxSeen = progress.lastOutboxId()
  const watching = new Set(progress.unsettledOutboxIds())
  return () => {
    for (const id of progress.outboxIdsAfter(maxSeen)) {
      watching.add(id)
      maxSeen = id
    }
    if (watching.size === 0) return
    for (const row of progress.outboxProgress([...watching])) {
      if (row.state !== 'confirmed') continue
      watching.delete(row.id)
      announce({
        kind: row.kind,
        share_id: row.shareId,
        data_hash: row.dataHash,
        tx_hash: row.txHash
      })
    }
  }
}

/** Event payloads without bulky or sensitive parts (receipts' signatures, envelopes). */
function summarize(payload: unknown): Record<string, unknown> {
  const p = (payload ?? {}) as Record<string, unknown>
  const share = p['share'] as Record<string, unknown> | undefined
  const out: Record<string, unknown> = {}
  if (share) {
    for (const key of [
      'shareId',
      'direction',
      'dataHash',
      'sender',
      'recipient',
      'tier',
      'state',
      'attempts'
    ]) {
      out[key] = share[key]
    }
  }
  for (const key of ['peerId', 'trust', 'protocol', 'error', 'final']) {
    if (p[key] !== undefined) out[key] = p[key]
  }
  return out
}
