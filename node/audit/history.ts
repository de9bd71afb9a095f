/** History queries over the local event index (`audit_events`), for compliance and the API. */
import type { Db } from '../store/database.ts'
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
  readonly limit?: number
  readonly offset?: number
}

export interface HistoryEntry {
  readonly event: string
  readonly shareId: string | null
  readonly dataHash: string | null
  readonly sender: string | null
  readonly recipient: string | null
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
}

const asHash = (v: string | undefined) =>
  v === undefined ? null : /^[0-9a-f]{64}$/.test(v) ? v : peerIdHash(v)

/** Share history from the index, newest first. */
export function history(db: Db, f: HistoryFilter = {}): HistoryEntry[] {
  const rows = db
    .prepare(
      `SELECT * FROM audit_events
       WHERE event_name IN ('ShareRecorded', 'ReceiptAnchored', 'BatchLeaf')
         AND (@data_hash IS NULL OR data_hash = @data_hash)
         AND (@sender IS NULL OR sender_hash = @sender)
         AND (@recipient IS NULL OR recipient_hash = @recipient)
         AND (@tier IS NULL OR tier = @tier)
         AND (@from IS NULL OR timestamp_ms >= @from)
         AND (@to IS NULL OR timestamp_ms <= @to)
       ORDER BY block_number DESC, log_index DESC, leaf_index DESC LIMIT @limit OFFSET @offset`
    )
    .all({
      data_hash: f.dataHash ?? null,
      sender: asHash(f.sender),
      recipient: asHash(f.recipient),
      tier: f.tier ?? null,
      from: f.from ?? null,
      to: f.to ?? null,
      limit: Math.min(f.limit ?? 100, 1000),
      offset: f.offset ?? 0
    }) as Record<string, string | number | null>[]
  return rows.map((r) => ({
    event: String(r['event_name']),
    shareId: r['share_id'] as string | null,
    dataHash: r['data_hash'] as string | null,
    sender: r['sender'] as string | null,
    recipient: r['recipient'] as string | null,
    senderHash: r['sender_hash'] as string | null,
    recipientHash: r['recipient_hash'] as string | null,
    tier: r['tier'] as string | null,
    timestamp: r['timestamp_ms'] as number | null,
    receiptHash: r['receipt_hash'] as string | null,
    root: r['root'] as string | null,
    leafIndex: r['leaf_index'] === -1 ? null : (r['leaf_index'] as number),
    submitter: r['submitter'] as string | null,
    txHash: String(r['tx_hash']),
    blockNumber: Number(r['block_number'])
  }))
}
