/**
 * Adapters from the node's services (p2p, audit, key ring, store) to the ports the APIs drive
 * (node/core/ports.ts). Foreign errors are translated here into port errors, keeping the original as
 * `cause`, so the API maps a small fixed set of names to status codes.
 */
import type { AuditService as AuditTrail } from './audit/index.ts'
import { auditPorts } from './audit/ports-adapter.ts'
import { AttestationNotConfiguredError } from './core/errors.ts'
import {
  type AuditReader,
  type CallOptions,
  DependencyUnavailableError,
  type HealthProbe,
  InvalidRequestError,
  type Outbox,
  ResourceNotFoundError,
  type SecurityLogWriter,
  type ShareService,
  type ShareView,
  StateConflictError,
  UnknownRecipientError
} from './core/ports.ts'
import type { AuditState, DeliveryState } from './core/share.ts'
import type { P2pService, P2pShareView } from './p2p/index.ts'
import type { AuditProgressRepository } from './store/audit-progress.ts'
import type { ShareRepository } from './store/shares.ts'

/** Contract events under the names the anchor's clients filter on (`filters=data_share`). */
const EVENT_TYPES: Readonly<Record<string, string>> = {
  ShareRecorded: 'data_share',
  ReceiptAnchored: 'delivery_receipt',
  BatchAnchored: 'batch_leaf',
  BatchLeaf: 'batch_leaf'
}
const eventType = (name: string) => EVENT_TYPES[name] ?? name

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

function toShareView(progress: AuditProgressRepository, s: P2pShareView): ShareView {
  return {
    shareId: s.shareId,
    direction: s.direction,
    dataHash: s.dataHash,
    sender: s.sender,
    recipient: s.recipient,
    recipientLabel: s.recipientLabel ?? s.recipient,
    tier: s.tier,
    delivery: s.state as DeliveryState,
    ...auditOf(progress, s.shareId),
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

/** Shares: queued by the p2p service, audit state read from the outbox. */
export function createShareService(
  p2p: P2pService,
  store: ShareServiceStore,
  onShared?: () => void
): ShareService {
  const get = (shareId: string) => {
    try {
      return toShareView(store.auditProgress, p2p.getShare(shareId))
    } catch (err) {
      if (isNamed(err, 'ShareNotFoundError')) return undefined
      throw err
    }
  }
  return {
    async share(req, options: CallOptions = {}) {
      options.signal?.throwIfAborted()
      let queued: { shareId: string }
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
      onShared?.()
      return get(queued.shareId) as ShareView
    },
    async getShare(shareId) {
      return get(shareId)
    },
    async listShares(filter) {
      const ids = store.shares.listIds({ state: filter.state, limit: Math.min(filter.limit ?? 100, 1000) })
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

function translateChainErrors(err: unknown): never {
  if (isNamed(err, 'AuditNotReadyError', 'ChainUnavailableError', 'ChainRpcError')) {
    throw new DependencyUnavailableError('chain', 'the audit chain is not reachable now', { cause: err })
  }
  throw err
}

/**
 * The audit trail's own port adapter (node/audit/ports-adapter.ts), with contract events named as
 * the anchor's clients know them (`filters=data_share`) and chain failures answered as 503.
 */
export function createAuditPort(audit: AuditTrail): AuditReader {
  const inner = auditPorts(audit).audit
  return {
    verify: (dataHash, options) =>
      inner
        .verify(dataHash, options)
        .then(
          (v) => ({ ...v, eventType: v.eventType === null ? null : eventType(v.eventType) }),
          translateChainErrors
        ),
    complianceHistory: async (filter, options) => {
      const wanted = new Set(filter.eventTypes)
      const all = await inner.complianceHistory({ ...filter, eventTypes: [], limit: 1000 }, options)
      return all
        .map((e) => ({ ...e, eventType: eventType(e.eventType) }))
        .filter((e) => wanted.size === 0 || wanted.has(e.eventType))
        .slice(0, filter.limit)
    },
    status: (options) => inner.status(options).catch(translateChainErrors)
  }
}

/** The audit outbox for operators; retrying an entry that has not failed is a conflict. */
export function createOutboxPort(audit: AuditTrail): Outbox {
  const inner = auditPorts(audit).outbox
  return {
    list: (filter, options) => inner.list(filter, options),
    async retry(id, options) {
      const entry = audit.listOutbox({ afterId: id + 1, limit: 1 })[0]
      if (entry?.id !== id) throw new ResourceNotFoundError('outbox', `no outbox entry ${id}`)
      if (entry.state !== 'failed') {
        throw new StateConflictError(`outbox entry ${id} is ${entry.state}, not failed`)
      }
      return inner.retry(id, options)
    }
  }
}

/** The hash-chained security log of the audit trail. */
export function createSecurityLogPort(audit: AuditTrail): SecurityLogWriter {
  return auditPorts(audit).securityLog
}

/** Health of every component, for `/health` on both APIs. */
export function createHealthProbes(parts: {
  /** Throws when the database does not answer. */
  readonly database: { check(): void }
  readonly keyRing: { status(): Promise<{ primaryVersion: number }> }
  readonly p2p: P2pService
  readonly audit: AuditTrail
}): HealthProbe[] {
  // An audit event waiting longer than this means the chain or the publisher is stuck.
  const maxLagSeconds = 300
  return [
    {
      name: 'database',
      check: async () => {
        parts.database.check()
        return { status: 'up' }
      }
    },
    {
      name: 'keyring',
      check: async () => ({
        status: 'up',
        detail: { primary_version: (await parts.keyRing.status()).primaryVersion }
      })
    },
    {
      name: 'p2p',
      check: async () => {
        const s = parts.p2p.stats()
        return {
          status: 'up',
          detail: { peers: s.totalPeers, healthy_peers: s.healthyPeers, connections: s.connectedPeers }
        }
      }
    },
    {
      name: 'chain',
      check: async () => {
        const s = parts.audit.status()
        return s.chainReachable
          ? { status: 'up', detail: { mode: s.mode } }
          : { status: 'down', detail: { last_error_at: s.lastErrorAt } }
      }
    },
    {
      name: 'outbox',
      check: async () => {
        const s = parts.audit.status()
        const detail = { pending: s.pending, sent: s.sent, failed: s.failed, lag_seconds: s.lagSeconds }
        return { status: s.failed > 0 || s.lagSeconds > maxLagSeconds ? 'degraded' : 'up', detail }
      }
    }
  ]
}
