/**
 * The audit trail behind the API's ports (node/core/ports.ts): verification and compliance history,
 * status, the outbox for operators, the security log, and the health probes of the chain and the
 * outbox. Foreign errors are translated here into port errors, keeping the original as `cause`, so
 * the API maps a small fixed set of names to status codes.
 */
import {
  type AuditEvidence,
  type AuditReader,
  type AuditStatus,
  type ComplianceEvent,
  DependencyUnavailableError,
  type EvidenceBundleDocument,
  type HealthProbe,
  type OutboxEntryView,
  type Outbox as OutboxPort,
  ResourceNotFoundError,
  type SecurityLogWriter,
  StateConflictError,
  type Verification
} from '../core/ports.ts'
import type { AuditService } from './audit-service.ts'
import { OutboxEntryNotFoundError } from './errors.ts'
import type { OutboxEntry } from './outbox.ts'
import type { Evidence } from './verify.ts'

const hex0x = (h: string | undefined | null) => (h ? (h.startsWith('0x') ? h : `0x${h}`) : null)

// Receipt evidence first: it commits to what the recipient signed.
const RANK: Record<string, number> = { ReceiptAnchored: 0, BatchAnchored: 1, ShareRecorded: 2 }

function toEvidence(e: Evidence, contractAddress: string): AuditEvidence {
  return {
    txHash: e.txHash,
    blockNumber: e.blockNumber,
    contractAddress,
    shareId: e.shareId,
    leaf: hex0x(e.leaf ?? e.onChainReceiptHash),
    merkleRoot: hex0x(e.root),
    proof: e.proof ? e.proof.map((p) => `0x${p}`) : null,
    confirmations: e.confirmations
  }
}

const toOutboxEntry = (e: OutboxEntry): OutboxEntryView => ({
  id: e.id,
  kind: e.kind,
  shareId: e.shareId,
  state: e.state,
  txHash: e.txHash,
  attempts: e.attempts,
  lastError: e.lastError,
  createdAt: e.createdAt,
  updatedAt: e.updatedAt
})

/** Adapts a started AuditService to the ports the API drives. */
export function auditPorts(audit: AuditService): {
  audit: AuditReader
  outbox: OutboxPort
  securityLog: SecurityLogWriter
} {
  return {
    audit: {
      async verify(dataHash, options): Promise<Verification> {
        const r = await audit.verify(dataHash, options?.signal ? { signal: options.signal } : {})
        const contract = audit.contractAddress ?? ''
        const counted = r.evidence.filter((e) => e.reason !== 'unbound_submitter')
        const best = [...counted].sort((a, b) => (RANK[a.event] ?? 9) - (RANK[b.event] ?? 9))[0]
        return {
          dataHash,
          verified: r.verified,
          reason: r.reason ?? null,
          eventType: r.event_type,
          evidence: best ? toEvidence(best, contract) : null,
          shares: r.shares.map((s) => ({ ...s, reason: s.reason ?? null })),
          refused: r.evidence
            .filter((e) => e.reason === 'unbound_submitter')
            .map((e) => ({
              ...toEvidence(e, contract),
              eventType: e.event,
              submitter: e.submitter ?? '',
              reason: 'unbound_submitter'
            }))
        }
      },
      async bundle(dataHash, options) {
        const b = await audit.bundle(dataHash, options?.signal ? { signal: options.signal } : {})
        return b.shares.length > 0 ? (b as unknown as EvidenceBundleDocument) : undefined
      },
      async complianceHistory(filter): Promise<readonly ComplianceEvent[]> {
        const rows = audit.history({
          ...(filter.dataHash ? { dataHash: filter.dataHash } : {}),
          ...(filter.eventTypes.length > 0 ? { eventNames: filter.eventTypes } : {}),
          ...(filter.after ? { before: filter.after } : {}),
          limit: filter.limit
        })
        return rows.map((r) => ({
          eventType: r.event,
          dataHash: r.dataHash,
          shareId: r.shareId,
          sender: r.sender,
          recipient: r.recipient,
          recipientLabel: r.recipientLabel,
          timestamp: r.timestamp === null ? null : Math.floor(r.timestamp / 1000),
          txHash: r.txHash,
          blockNumber: r.blockNumber,
          logIndex: r.logIndex,
          leafIndex: r.leafIndex
        }))
      },
      async status(options): Promise<AuditStatus> {
        const s = audit.status()
        const latest = await audit.latestBlock(options?.signal ? { signal: options.signal } : {})
        return {
          contractAddress: audit.contractAddress ?? null,
          chainId: audit.chainId ?? null,
          latestBlock: latest ?? null,
          pending: s.pending,
          sent: s.sent,
          failed: s.failed,
          lagSeconds: s.lagSeconds
        }
      }
    },
    outbox: {
      async list(filter) {
        return audit
          .listOutbox({
            ...(filter.state ? { state: filter.state } : {}),
            ...(filter.after !== undefined ? { afterId: filter.after } : {}),
            limit: filter.limit
          })
          .map(toOutboxEntry)
      },
      async retry(id) {
        audit.retryOutbox(id)
        const entry = audit.listOutbox({ afterId: id + 1, limit: 1 })[0]
        if (!entry || entry.id !== id) throw new OutboxEntryNotFoundError(`no outbox entry ${id}`)
        return toOutboxEntry(entry)
      }
    },
    securityLog: {
      append(kind, detail) {
        audit.securityLog.append(kind, detail)
      }
    }
  }
}

/** Contract events under the names the anchor's clients filter on (`filters=data_share`). */
const EVENT_TYPES: Readonly<Record<string, string>> = {
  ShareRecorded: 'data_share',
  ReceiptAnchored: 'delivery_receipt',
  BatchAnchored: 'batch_leaf',
  BatchLeaf: 'batch_leaf'
}
const eventType = (name: string) => EVENT_TYPES[name] ?? name
/** The contract event names behind API event types; a name that is no API type selects nothing. */
const eventNamesOf = (types: readonly string[]) =>
  Object.keys(EVENT_TYPES).filter((name) => types.includes(eventType(name)))

function translateChainErrors(err: unknown): never {
  if (
    err instanceof Error &&
    ['AuditNotReadyError', 'ChainUnavailableError', 'ChainRpcError'].includes(err.name)
  ) {
    throw new DependencyUnavailableError('chain', 'the audit chain is not reachable now', { cause: err })
  }
  throw err
}

/**
 * The ports as the APIs serve them: contract events named as the anchor's clients know them
 * (`filters=data_share`), chain failures answered as 503, and retrying an outbox entry that has not
 * failed refused as a conflict.
 */
export function auditApiPorts(audit: AuditService): {
  audit: AuditReader
  outbox: OutboxPort
  securityLog: SecurityLogWriter
} {
  const inner = auditPorts(audit)
  return {
    audit: {
      verify: (dataHash, options) =>
        inner.audit.verify(dataHash, options).then(
          (v) => ({
            ...v,
            eventType: v.eventType === null ? null : eventType(v.eventType),
            refused: v.refused.map((e) => ({ ...e, eventType: eventType(e.eventType) }))
          }),
          translateChainErrors
        ),
      bundle: (dataHash, options) => inner.audit.bundle(dataHash, options).catch(translateChainErrors),
      complianceHistory: async (filter, options) => {
        // Filtered in the query, so a page holds `limit` matching events and the cursor stays exact.
        const names = eventNamesOf(filter.eventTypes)
        if (filter.eventTypes.length > 0 && names.length === 0) return []
        const events = await inner.audit.complianceHistory({ ...filter, eventTypes: names }, options)
        return events.map((e) => ({ ...e, eventType: eventType(e.eventType) }))
      },
      status: (options) => inner.audit.status(options).catch(translateChainErrors)
    },
    outbox: {
      list: (filter, options) => inner.outbox.list(filter, options),
      async retry(id, options) {
        const entry = audit.listOutbox({ afterId: id + 1, limit: 1 })[0]
        if (entry?.id !== id) throw new ResourceNotFoundError('outbox', `no outbox entry ${id}`)
        if (entry.state !== 'failed') {
          throw new StateConflictError(`outbox entry ${id} is ${entry.state}, not failed`)
        }
        return inner.outbox.retry(id, options)
      }
    },
    securityLog: inner.securityLog
  }
}

/**
 * Health of the chain connection and of the outbox, for `/health` on both APIs. The chain is down
 * when it does not answer, degraded when it changed under the node (reset or replaced, or no
 * contract at the address) with the reason; the outbox is degraded when an event failed or the
 * oldest unconfirmed one waits longer than `chain.lagWarnSeconds`.
 */
export function auditHealthProbes(audit: Pick<AuditService, 'status'>): HealthProbe[] {
  return [
    {
      name: 'chain',
      check: async () => {
        const s = audit.status()
        if (!s.chainReachable) return { status: 'down', detail: { last_error_at: s.lastErrorAt } }
        if (s.chainIssue) {
          return {
            status: 'degraded',
            detail: { mode: s.mode, reason: s.chainIssue.reason, since: s.chainIssue.since }
          }
        }
        return { status: 'up', detail: { mode: s.mode } }
      }
    },
    {
      name: 'outbox',
      check: async () => {
        const s = audit.status()
        const detail = { pending: s.pending, sent: s.sent, failed: s.failed, lag_seconds: s.lagSeconds }
        return { status: s.failed > 0 || s.lagging ? 'degraded' : 'up', detail }
      }
    }
  ]
}
