/**
 * The local index of the contract's events (`audit_events`): filled from the receipts the publisher
 * confirms and from `eth_getLogs` over the contract's address, and rebuilt from the chain by
 * `dmn audit reindex`. Leaves of this node's batches are indexed as `BatchLeaf` rows beside the
 * `BatchAnchored` event, so history queries see batched shares too.
 */
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { AuditEventRow } from '../store/audit-events.ts'
import { LOG_QUERY_BLOCK_SPAN } from './constants.ts'
import { parseLog } from './contract.ts'
import { leafOfPayload, peerIdHash } from './leaves.ts'
import { hexToNumber, type RpcClient, type RpcLog, toHex } from './rpc-client.ts'

const strip = (hex: string) => hex.replace(/^0x/, '').toLowerCase()

type Opts = { signal?: AbortSignal }

/** eth_getLogs by address and topics from `fromBlock` to the head, in bounded block ranges. */
export async function getLogs(
  rpc: RpcClient,
  address: string,
  topics: readonly (string | readonly string[] | null)[],
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
  dataHash: string
  tier: string
  timestamp: number
}

/** The account this node publishes from, lower case, as its chain binding records it. */
const ownAccount = (repos: AuditRepositories): string | undefined =>
  repos.chainState.chainBinding()?.split(':')[2]

/**
 * What this node's own outbox says of an event it published: only for an event its own account
 * submitted whose leaf is the one it queued. Another account replaying the node's share ids gets no
 * detail, so its events stay unattributed and never enter the node's history.
 */
function localDetail(
  repos: AuditRepositories,
  kind: string,
  shareId: string,
  event?: { readonly submitter: string; readonly leaf: string }
): LocalDetail | undefined {
  const payload = repos.outbox.payloadOf(kind, shareId)
  if (payload === undefined) return undefined
  if (event) {
    if (event.submitter.toLowerCase() !== ownAccount(repos)) return undefined
    if (leafOfPayload(kind, payload) !== event.leaf) return undefined
  }
  const p = JSON.parse(payload) as Record<string, unknown>
  const b = (kind === 'receipt' ? p['body'] : p) as Record<string, unknown>
  return {
    sender: String(b['sender']),
    recipient: String(b['recipient']),
    dataHash: String(b['dataHash']),
    tier: String(b['tier']),
    timestamp: Number(kind === 'receipt' ? b['receivedAt'] : b['timestamp'])
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Adds decoded contract logs to the index; returns how many rows were new. A log indexed already
 * (the publisher indexes its own as it confirms them, the periodic sync sees them again) is skipped
 * before it is decoded: its rows, a batch's leaves included, were written together.
 */
export function indexLogs(repos: AuditRepositories, logs: readonly RpcLog[]): number {
  let added = 0
  repos.transaction(() => {
    for (const log of logs) {
      if (repos.events.has(log.transactionHash, hexToNumber(log.logIndex))) continue
      const parsed = parseLog(log)
      if (!parsed) continue
      const a = parsed.args
      const base: Mutable<AuditEventRow> = {
        eventName: parsed.name,
        shareId: null,
        dataHash: null,
        sender: null,
        recipient: null,
        senderHash: null,
        recipientHash: null,
        tier: null,
        timestampMs: null,
        receiptHash: null,
        root: null,
        leafIndex: null,
        submitter: null,
        txHash: log.transactionHash,
        blockNumber: hexToNumber(log.blockNumber),
        blockHash: log.blockHash,
        logIndex: hexToNumber(log.logIndex),
        args: JSON.stringify(parsed.args.toObject(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
      }
      const rows: AuditEventRow[] = [base]
      if (parsed.name === 'ShareRecorded') {
        const shareId = strip(a['shareId'])
        base.shareId = shareId
        base.dataHash = strip(a['dataHash'])
        base.recipientHash = strip(a['recipientHash'])
        base.submitter = a['submitter']
        // The event carries the share record's leaf; its sender, tier and time come from the record.
        const local = localDetail(repos, 'share', shareId, {
          submitter: a['submitter'],
          leaf: strip(a['leaf'])
        })
        if (local) {
          Object.assign(base, {
            sender: local.sender,
            recipient: local.recipient,
            senderHash: peerIdHash(local.sender),
            tier: local.tier,
            timestampMs: local.timestamp
          })
        }
      } else if (parsed.name === 'ReceiptAnchored') {
        const shareId = strip(a['shareId'])
        base.shareId = shareId
        base.receiptHash = strip(a['receiptHash'])
        base.submitter = a['submitter']
        const local = localDetail(repos, 'receipt', shareId, {
          submitter: a['submitter'],
          leaf: base.receiptHash
        })
        if (local) {
          Object.assign(base, {
            dataHash: local.dataHash,
            sender: local.sender,
            recipient: local.recipient,
            senderHash: peerIdHash(local.sender),
            recipientHash: peerIdHash(local.recipient),
            tier: local.tier,
            timestampMs: local.timestamp
          })
        }
      } else if (parsed.name === 'BatchAnchored') {
        base.root = strip(a['root'])
        base.submitter = a['submitter']
        // A root is this node's only when its own account anchored it (another may anchor the same root).
        if (String(a['submitter']).toLowerCase() === ownAccount(repos)) rows.push(...batchLeaves(repos, base))
      } else if (parsed.name === 'LogHeadAnchored' || parsed.name === 'NodeRegistered') {
        base.submitter = a['submitter'] ?? a['account']
      }
      for (const row of rows) if (repos.events.add(row)) added += 1
    }
  })
  return added
}

function batchLeaves(repos: AuditRepositories, base: AuditEventRow): AuditEventRow[] {
  if (base.root === null) return []
  return repos.batches.leavesOfRoot(base.root).map((l) => {
    const local = localDetail(repos, l.kind, l.shareId)
    return {
      ...base,
      eventName: 'BatchLeaf',
      shareId: l.shareId,
      dataHash: l.dataHash,
      receiptHash: l.kind === 'receipt' ? l.leaf : null,
      leafIndex: l.leafIndex,
      sender: local?.sender ?? null,
      recipient: local?.recipient ?? null,
      senderHash: local ? peerIdHash(local.sender) : null,
      recipientHash: local ? peerIdHash(local.recipient) : null,
      tier: local?.tier ?? null,
      timestampMs: local?.timestamp ?? null,
      args: JSON.stringify({ kind: l.kind, leaf: l.leaf })
    }
  })
}

/** Indexes the contract's logs from the last indexed block up to the head; returns rows added. */
export async function syncIndex(
  repos: AuditRepositories,
  rpc: RpcClient,
  address: string,
  deployBlock: number,
  opts: Opts & { confirmations?: number } = {}
): Promise<number> {
  const indexed = repos.chainState.indexedBlock()
  const from = indexed !== undefined ? indexed + 1 : deployBlock
  // Only blocks with the configured confirmations: the index should not hold what a reorg can undo.
  const head =
    hexToNumber(await rpc.call<string>('eth_blockNumber', [], opts)) -
    Math.max(0, (opts.confirmations ?? 1) - 1)
  if (from > head) return 0
  const logs = await getLogs(rpc, address, [], from, { ...opts, toBlock: head })
  const added = indexLogs(repos, logs)
  repos.chainState.setIndexedBlock(head)
  return added
}

/** Empties the index and rebuilds it from the chain. */
export async function reindex(
  repos: AuditRepositories,
  rpc: RpcClient,
  address: string,
  deployBlock: number,
  opts: Opts = {}
): Promise<number> {
  repos.transaction(() => {
    repos.events.clear()
    repos.chainState.forgetIndexedBlock()
  })
  return syncIndex(repos, rpc, address, deployBlock, opts)
}
