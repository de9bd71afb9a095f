/** History queries over the local event index (`audit_events`), for compliance and the API. */
import type { AuditEventRepository } from '../store/audit-events.ts'
import { peerIdHash } from './leaves.ts'

export interface HistoryFilter {
  readonly dataHash?: string
  /** PeerId, or 64-hex SHA-256 of one. */
  readonly sender?: string
  readonly recipient?: string
  readonly tier?: string
  /** Unix ms, inclusive. */
  readonly from?: number
  readonly to?: number
  /** Contract event names to include; all when absent. */
  readonly eventNames?: readonly string[]
  /** Only events older than this position (the last one of the page before). */
  readonly before?: {
    readonly blockNumber: number
    readonly logIndex: number
    readonly leafIndex: number | null
  }
  readonly limit?: number
  readonly offset?: number
}

export interface HistoryEntry {
  readonly event: string
  readonly shareId: string | null
  readonly dataHash: string | null
  readonly sender: string | null
  readonly recipient: string | null
  /** The recipient as this node's client named it (PeerId or 0x address), for a share it sent. */
  readonly recipientLabel: string | null
  readonly senderHash: string | null
  readonly recipientHash: string | null
  readonly tier: string | null
  readonly timestamp: number | null
  readonly receiptHash: string | null
  readonly root: string | null
  readonly leafIndex: number | null
  readonly submitter: string | null
  readonly txHash: string
  readonly blockNumber: number
  readonly logIndex: number
}

const asHash = (v: string | undefined) =>
  v === undefined ? null : /^[0-9a-f]{64}$/.test(v) ? v : peerIdHash(v)

// One page of history at most (1000 and the one more a reader asks for to learn whether another
// page follows): readers page with `before` or `offset`.
const MAX_LIST = 1001

/** Share history from the index, newest first: the events of the shares this node is party to. */
export function history(events: AuditEventRepository, f: HistoryFilter = {}): HistoryEntry[] {
  return events
    .shareEvents({
      dataHash: f.dataHash,
      senderHash: asHash(f.sender) ?? undefined,
      recipientHash: asHash(f.recipient) ?? undefined,
      tier: f.tier,
      fromMs: f.from,
      toMs: f.to,
      eventNames: f.eventNames,
      ...(f.before ? { before: f.before } : {}),
      limit: Math.min(f.limit ?? 100, MAX_LIST),
      offset: f.offset ?? 0
    })
    .map((r) => ({
      event: r.eventName,
      shareId: r.shareId,
      dataHash: r.dataHash,
      sender: r.sender,
      recipient: r.recipient,
      recipientLabel: r.recipientLabel,
      senderHash: r.senderHash,
      recipientHash: r.recipientHash,
      tier: r.tier,
      timestamp: r.timestampMs,
      receiptHash: r.receiptHash,
      root: r.root,
      leafIndex: r.leafIndex,
      submitter: r.submitter,
      txHash: r.txHash,
      blockNumber: r.blockNumber,
      logIndex: r.logIndex
    }))
}
