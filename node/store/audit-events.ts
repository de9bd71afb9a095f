import type { Db } from './database.ts'

/**
 * The local index of the audit contract's events (table `audit_events`). It is derived data: filled
 * from confirmed receipts and `eth_getLogs`, emptied and rebuilt from the chain at will. A leaf of a
 * batch is a row of its own (`BatchLeaf`) beside its `BatchAnchored` event; an event is indexed once
 * per (transaction, log index, leaf index).
 */

/** One indexed event; fields an event does not carry are null. */
export interface AuditEventRow {
  /** Contract event name, or 'BatchLeaf'. */
  readonly eventName: string
  readonly shareId: string | null
  readonly dataHash: string | null
  /** PeerIds, when the node knows them locally. */
  readonly sender: string | null
  readonly recipient: string | null
  /** 64 hex: SHA-256 of the PeerIds, as on chain. */
  readonly senderHash: string | null
  readonly recipientHash: string | null
  readonly tier: string | null
  /** Unix ms. */
  readonly timestampMs: number | null
  readonly receiptHash: string | null
  readonly root: string | null
  /** The leaf's place in its batch; null for an event that is not a batch leaf. */
  readonly leafIndex: number | null
  readonly submitter: string | null
  readonly txHash: string
  readonly blockNumber: number
  readonly blockHash: string | null
  readonly logIndex: number
  /** The decoded event arguments, JSON. */
  readonly args: string
}

/** A share event as history reads it: the row, and the recipient as this node's client named it. */
export interface ShareEventRow extends AuditEventRow {
  /** For an outgoing share, the recipient as the client addressed it (PeerId or 0x address); else null. */
  readonly recipientLabel: string | null
}

/** What history queries filter on; all optional, hashes are 64 hex. */
export interface AuditEventQuery {
  readonly dataHash?: string | undefined
  readonly senderHash?: string | undefined
  readonly recipientHash?: string | undefined
  readonly tier?: string | undefined
  /** Unix ms, inclusive. */
  readonly fromMs?: number | undefined
  readonly toMs?: number | undefined
  /** Contract event names (`ShareRecorded`, `ReceiptAnchored`, `BatchLeaf`) to include; all when absent. */
  readonly eventNames?: readonly string[] | undefined
  /** Only events older than this position (keyset paging, newest first). */
  readonly before?: {
    readonly blockNumber: number
    readonly logIndex: number
    readonly leafIndex: number | null
  }
  readonly limit: number
  readonly offset: number
}

interface RawEvent {
  event_name: string
  share_id: string | null
  data_hash: string | null
  sender: string | null
  recipient: string | null
  sender_hash: string | null
  recipient_hash: string | null
  tier: string | null
  timestamp_ms: number | null
  receipt_hash: string | null
  root: string | null
  leaf_index: number
  submitter: string | null
  tx_hash: string
  block_number: number
  block_hash: string | null
  log_index: number
  args: string
}

// The unique key needs a value: an event that is no batch leaf is stored with leaf index -1.
const NO_LEAF = -1

const COLUMNS =
  'event_name, share_id, data_hash, sender, recipient, sender_hash, recipient_hash, tier, timestamp_ms, receipt_hash, root, leaf_index, submitter, tx_hash, block_number, block_hash, log_index, args'

const toRow = (r: RawEvent): AuditEventRow => ({
  eventName: r.event_name,
  shareId: r.share_id,
  dataHash: r.data_hash,
  sender: r.sender,
  recipient: r.recipient,
  senderHash: r.sender_hash,
  recipientHash: r.recipient_hash,
  tier: r.tier,
  timestampMs: r.timestamp_ms,
  receiptHash: r.receipt_hash,
  root: r.root,
  leafIndex: r.leaf_index === NO_LEAF ? null : r.leaf_index,
  submitter: r.submitter,
  txHash: r.tx_hash,
  blockNumber: r.block_number,
  blockHash: r.block_hash,
  logIndex: r.log_index,
  args: r.args
})

const ALIASED_COLUMNS = COLUMNS.split(', ')
  .map((c) => `e.${c}`)
  .join(', ')

const toRaw = (e: AuditEventRow): RawEvent => ({
  event_name: e.eventName,
  share_id: e.shareId,
  data_hash: e.dataHash,
  sender: e.sender,
  recipient: e.recipient,
  sender_hash: e.senderHash,
  recipient_hash: e.recipientHash,
  tier: e.tier,
  timestamp_ms: e.timestampMs,
  receipt_hash: e.receiptHash,
  root: e.root,
  leaf_index: e.leafIndex ?? NO_LEAF,
  submitter: e.submitter,
  tx_hash: e.txHash,
  block_number: e.blockNumber,
  block_hash: e.blockHash,
  log_index: e.logIndex,
  args: e.args
})

/** Repository over `audit_events`; statements prepared once. */
export class AuditEventRepository {
  readonly #insert
  readonly #has
  readonly #clear
  readonly #deleteFrom
  readonly #shares

  constructor(db: Db) {
    this.#insert = db.prepare<[RawEvent]>(
      `INSERT INTO audit_events (${COLUMNS})
       VALUES (@event_name, @share_id, @data_hash, @sender, @recipient, @sender_hash, @recipient_hash, @tier,
         @timestamp_ms, @receipt_hash, @root, @leaf_index, @submitter, @tx_hash, @block_number, @block_hash,
         @log_index, @args)
       ON CONFLICT DO NOTHING`
    )
    this.#has = db.prepare<[string, number]>(
      'SELECT 1 FROM audit_events WHERE tx_hash = ? AND log_index = ? LIMIT 1'
    )
    this.#clear = db.prepare('DELETE FROM audit_events')
    this.#deleteFrom = db.prepare<[number]>('DELETE FROM audit_events WHERE block_number >= ?')
    this.#shares = db.prepare<
      [
        {
          data_hash: string | null
          sender: string | null
          recipient: string | null
          tier: string | null
          from: number | null
          to: number | null
          names: string | null
          before_block: number | null
          before_log: number | null
          before_leaf: number | null
          limit: number
          offset: number
        }
      ],
      RawEvent & { recipient_label: string | null }
    >(
      // Only attributed events (their sender known): this node's own, and those of its inbound shares
      // that node/audit bound to the sender's account. Any other event is no evidence of a share.
      `SELECT ${ALIASED_COLUMNS}, s.recipient_label FROM audit_events e
         LEFT JOIN shares s ON s.share_id = e.share_id AND s.direction = 'out' AND s.recipient = e.recipient
       WHERE e.event_name IN ('ShareRecorded', 'ReceiptAnchored', 'BatchLeaf') AND e.sender IS NOT NULL
         AND (@data_hash IS NULL OR e.data_hash = @data_hash)
         AND (@sender IS NULL OR e.sender_hash = @sender)
         AND (@recipient IS NULL OR e.recipient_hash = @recipient)
         AND (@tier IS NULL OR e.tier = @tier)
         AND (@from IS NULL OR e.timestamp_ms >= @from)
         AND (@to IS NULL OR e.timestamp_ms <= @to)
         AND (@names IS NULL OR e.event_name IN (SELECT value FROM json_each(@names)))
         AND (@before_block IS NULL
           OR (e.block_number, e.log_index, e.leaf_index) < (@before_block, @before_log, @before_leaf))
       ORDER BY e.block_number DESC, e.log_index DESC, e.leaf_index DESC LIMIT @limit OFFSET @offset`
    )
  }

  /** Adds an event; false when it is indexed already. */
  add(event: AuditEventRow): boolean {
    return this.#insert.run(toRaw(event)).changes === 1
  }

  /** Whether the log at `logIndex` of transaction `txHash` is indexed (with its batch's leaves, if any). */
  has(txHash: string, logIndex: number): boolean {
    return this.#has.get(txHash, logIndex) !== undefined
  }

  /** Empties the index (before a rebuild, or when the chain changed). */
  clear(): void {
    this.#clear.run()
  }

  /** Forgets the events of block `block` and later (blocks the chain lost); returns how many. */
  deleteFromBlock(block: number): number {
    return this.#deleteFrom.run(block).changes
  }

  /** Attributed share events (records, receipt anchors, batch leaves) matching `q`, newest first. */
  shareEvents(q: AuditEventQuery): ShareEventRow[] {
    return this.#shares
      .all({
        data_hash: q.dataHash ?? null,
        sender: q.senderHash ?? null,
        recipient: q.recipientHash ?? null,
        tier: q.tier ?? null,
        from: q.fromMs ?? null,
        to: q.toMs ?? null,
        names: q.eventNames === undefined ? null : JSON.stringify(q.eventNames),
        before_block: q.before?.blockNumber ?? null,
        before_log: q.before?.logIndex ?? null,
        before_leaf: q.before === undefined ? null : (q.before.leafIndex ?? NO_LEAF),
        limit: q.limit,
        offset: q.offset
      })
      .map((r) => ({ ...toRow(r), recipientLabel: r.recipient_label }))
  }
}
