/**
 * The audit trail behind the API's ports (node/core/ports.ts): verification and compliance history,
 * status, the outbox for operators, and the security log.
 */
import type {
  AuditEvidence,
  AuditReader,
  AuditStatus,
  ComplianceEvent,
  OutboxEntryView,
  Outbox as OutboxPort,
  SecurityLogWriter,
  Verification
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
        const best = [...r.evidence].sort((a, b) => (RANK[a.event] ?? 9) - (RANK[b.event] ?? 9))[0]
        return {
          dataHash,
          verified: r.verified,
          eventType: r.event_type,
          evidence: best ? toEvidence(best, audit.contractAddress ?? '') : null
        }
      },
      async complianceHistory(filter): Promise<readonly ComplianceEvent[]> {
        const rows = audit.history({ ...(filter.dataHash ? { dataHash: filter.dataHash } : {}), limit: 1000 })
        return rows
          .filter((r) => filter.eventTypes.length === 0 || filter.eventTypes.includes(r.event))
          .slice(0, filter.limit)
          .map((r) => ({
            eventType: r.event,
            dataHash: r.dataHash,
            shareId: r.shareId,
            sender: r.sender,
            recipient: r.recipient,
            timestamp: r.timestamp === null ? null : Math.floor(r.timestamp / 1000),
            txHash: r.txHash,
            blockNumber: r.blockNumber
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
          .listOutbox({ ...(filter.state ? { state: filter.state } : {}), limit: filter.limit })
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
