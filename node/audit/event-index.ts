/**
 * The local index of the contract's events (`audit_events`): filled from the receipts the publisher
 * confirms and from `eth_getLogs` over the contract's address, and rebuilt from the chain by
 * `dmn audit reindex`. Leaves of this node's batches are indexed as `BatchLeaf` rows beside the
 * `BatchAnchored` event, so history queries see batched shares too.
 */
import { tierOfChainCode } from '../core/share.ts'
import type { Db } from '../store/database.ts'
import { LOG_QUERY_BLOCK_SPAN } from './constants.ts'
import { parseLog } from './contract.ts'
import { peerIdHash } from './leaves.ts'
import { hexToNumber, type RpcClient, type RpcLog, toHex } from './rpc-client.ts'

const INDEXED_KEY = 'audit.indexed_block'
const strip = (hex: string) => hex.replace(/^0x/, '').toLowerCase()

type Opts = { signal?: AbortSignal }

/** eth_getLogs by address and topics from `fromBlock` to the head, in bounded block ranges. */
export async function getLogs(
  rpc: RpcClient,
  address: string,
  topics: readonly (string | null)[],
  fromBlock: number,
  opts: Opts & { toBlock?: number } = {}
): Promise<RpcLog[]> {
  const head = opts.toBlock ?? hexToNumber(await rpc.call<string>('eth_blockNumber', [], opts))
  const out: RpcLog[] = []
  for (let from = fromBlock; from <= head; from += LOG_QUERY_BLOCK_SPAN) {
    const to = Math.min(head, from + LOG_QUERY_BLOCK_SPAN - 1)
    const logs = await rpc.call<RpcLog[]>(
      'eth_getLogs',
      [{ address, topics, fromBlock: toHex(from), toBlock: toHex(to) }],
      opts
    )
    out.push(...logs.filter((l) => !l.removed))
  }
  return out
}

interface LocalDetail {
  sender: string
  recipient: string
  tier: string
  timestamp: number
}

function localDetail(db: Db, kind: string, shareId: string): LocalDetail | undefined {
  const row = db.prepare('SELECT payload FROM outbox WHERE kind = ? AND share_id = ?').get(kind, shareId) as
    | { payload: string }
    | undefined
  if (!row) return undefined
  const p = JSON.parse(row.payload) as Record<string, unknown>
  const b = (kind === 'receipt' ? p['body'] : p) as Record<string, unknown>
  return {
    sender: String(b['sender']),
    recipient: String(b['recipient']),
    tier: String(b['tier']),
    timestamp: Number(kind === 'receipt' ? b['receivedAt'] : b['timestamp'])
  }
}

/** Adds decoded contract logs to the index; returns how many rows were new. */
export function indexLogs(db: Db, logs: readonly RpcLog[]): number {
  const insert = db.prepare(
    `INSERT INTO audit_events (event_name, share_id, data_hash, sender, recipient, sender_hash, recipient_hash, tier,
       timestamp_ms, receipt_hash, root, leaf_index, submitter, tx_hash, block_number, block_hash, log_index, args)
     VALUES (@event_name, @share_id, @data_hash, @sender, @recipient, @sender_hash, @recipient_hash, @tier,
       @timestamp_ms, @receipt_hash, @root, @leaf_index, @submitter, @tx_hash, @block_number, @block_hash, @log_index, @args)
     ON CONFLICT DO NOTHING`
  )
  let added = 0
  db.transaction(() => {
    for (const log of logs) {
      const parsed = parseLog(log)
      if (!parsed) continue
      const a = parsed.args
      const base = {
        event_name: parsed.name,
        share_id: null as string | null,
        data_hash: null as string | null,
        sender: null as string | null,
        recipient: null as string | null,
        sender_hash: null as string | null,
        recipient_hash: null as string | null,
        tier: null as string | null,
        timestamp_ms: null as number | null,
        receipt_hash: null as string | null,
        root: null as string | null,
        leaf_index: -1,
        submitter: null as string | null,
        tx_hash: log.transactionHash,
        block_number: hexToNumber(log.blockNumber),
        block_hash: log.blockHash,
        log_index: hexToNumber(log.logIndex),
        args: JSON.stringify(parsed.args.toObject(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
      }
      const rows: Record<string, unknown>[] = [base]
      if (parsed.name === 'ShareRecorded') {
        base.share_id = strip(a['shareId'])
        base.data_hash = strip(a['dataHash'])
        base.recipient_hash = strip(a['recipientHash'])
        base.sender_hash = strip(a['senderHash'])
        base.tier = tierOfChainCode(Number(a['tier'])) ?? null
        base.timestamp_ms = Number(a['timestamp'])
        base.submitter = a['submitter']
        const local = localDetail(db, 'share', base.share_id)
        if (local) Object.assign(base, { sender: local.sender, recipient: local.recipient })
      } else if (parsed.name === 'ReceiptAnchored') {
        base.share_id = strip(a['shareId'])
        base.data_hash = strip(a['dataHash'])
        base.receipt_hash = strip(a['receiptHash'])
        base.submitter = a['submitter']
        const local = localDetail(db, 'receipt', base.share_id)
        if (local) {
          Object.assign(base, {
            sender: local.sender,
            recipient: local.recipient,
            sender_hash: peerIdHash(local.sender),
            recipient_hash: peerIdHash(local.recipient),
            tier: local.tier,
            timestamp_ms: local.timestamp
          })
        }
      } else if (parsed.name === 'BatchAnchored') {
        base.root = strip(a['root'])
        base.submitter = a['submitter']
        rows.push(...batchLeaves(db, base))
      } else if (parsed.name === 'LogHeadAnchored' || parsed.name === 'NodeRegistered') {
        base.submitter = a['submitter'] ?? a['account']
      }
      for (const row of rows) added += insert.run(row).changes
    }
  })()
  return added
}

function batchLeaves(
  db: Db,
  base: Record<string, unknown> & { root: string | null }
): Record<string, unknown>[] {
  const leaves = db
    .prepare(
      `SELECT o.kind, o.share_id, o.data_hash, o.leaf, o.leaf_index FROM outbox o JOIN audit_batches b ON b.id = o.batch_id
       WHERE b.root = ? ORDER BY o.leaf_index`
    )
    .all(base.root) as {
    kind: string
    share_id: string
    data_hash: string
    leaf: string
    leaf_index: number
  }[]
  return leaves.map((l) => {
    const local = localDetail(db, l.kind, l.share_id)
    return {
      ...base,
      event_name: 'BatchLeaf',
      share_id: l.share_id,
      data_hash: l.data_hash,
      receipt_hash: l.kind === 'receipt' ? l.leaf : null,
      leaf_index: l.leaf_index,
      sender: local?.sender ?? null,
      recipient: local?.recipient ?? null,
      sender_hash: local ? peerIdHash(local.sender) : null,
      recipient_hash: local ? peerIdHash(local.recipient) : null,
      tier: local?.tier ?? null,
      timestamp_ms: local?.timestamp ?? null,
      args: JSON.stringify({ kind: l.kind, leaf: l.leaf })
    }
  })
}

/** Indexes the contract's logs from the last indexed block up to the head; returns rows added. */
export async function syncIndex(
  db: Db,
  rpc: RpcClient,
  address: string,
  deployBlock: number,
  opts: Opts & { confirmations?: number } = {}
): Promise<number> {
  const row = db.prepare('SELECT value FROM node_state WHERE key = ?').get(INDEXED_KEY) as
    | { value: string }
    | undefined
  const from = row ? Number(row.value) + 1 : deployBlock
  // Only blocks with the configured confirmations: the index should not hold what a reorg can undo.
  const head =
    hexToNumber(await rpc.call<string>('eth_blockNumber', [], opts)) -
    Math.max(0, (opts.confirmations ?? 1) - 1)
  if (from > head) return 0
  const logs = await getLogs(rpc, address, [], from, { ...opts, toBlock: head })
  const added = indexLogs(db, logs)
  db.prepare(
    `INSERT INTO node_state (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
  ).run(INDEXED_KEY, String(head), new Date().toISOString())
  return added
}

/** Empties the index and rebuilds it from the chain. */
export async function reindex(
  db: Db,
  rpc: RpcClient,
  address: string,
  deployBlock: number,
  opts: Opts = {}
): Promise<number> {
  db.transaction(() => {
    db.prepare('DELETE FROM audit_events').run()
    db.prepare('DELETE FROM node_state WHERE key = ?').run(INDEXED_KEY)
  })()
  return syncIndex(db, rpc, address, deployBlock, opts)
}
