/**
 * Builds the evidence bundle of a data hash (docs/AUDIT.md, "The evidence bundle") from what this
 * node holds: the share records and receipts it published (outbox payloads), the leaves of its
 * batches for inclusion proofs, the chain's receipts of those transactions for the anchors, and the
 * valid identity records of every party (IdentityDirectory). The result is checked by checkBundle,
 * by this node or by anyone else.
 */
import { bundleReceipt, type SignedReceipt } from '../core/receipt.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { DataHashEventRow } from '../store/outbox.ts'
import {
  type Anchor,
  BUNDLE_KIND,
  BUNDLE_VERSION,
  type BundleIdentity,
  type BundleShare,
  type BundleShareRecord,
  type EventAnchor,
  type EvidenceBundle
} from './bundle-format.ts'
import { bytes16, TOPICS } from './contract.ts'
import { inboundEntry, type SenderEvidence } from './bundle-inbound.ts'
import type { IdentityDirectory } from './identity-directory.ts'
import { inclusionProof } from './merkle.ts'
import { hexToNumber, type RpcClient, type RpcLog, type RpcReceipt } from './rpc-client.ts'

export type { Anchor, BatchAnchor, EventAnchor, EvidenceBundle } from './bundle-format.ts'

export interface BundleContext {
  readonly repos: Pick<AuditRepositories, 'outbox' | 'batches' | 'shares'>
  readonly rpc: RpcClient
  readonly contractAddress: string
  /** The first block to search for the senders' events of inbound shares. */
  readonly deployBlock: number
  readonly chainId: number
  readonly identities: IdentityDirectory
  /** Asks an inbound share's sender for its entry of the share (bundle-inbound.ts). */
  readonly senderEvidence?: SenderEvidence | undefined
}

type Opts = { signal?: AbortSignal }

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/**
 * The bundle of `dataHash` (64 hex): every share of it this node sent whose record is on chain, and
 * every share of it this node received whose evidence its sender gives or the chain shows
 * (bundle-inbound.ts).
 * A share whose record was not yet sent is left out (it has nothing to anchor); its receipt, when
 * not yet anchored, is given with a null anchor, so the check says what is missing.
 */
export async function buildBundle(
  ctx: BundleContext,
  dataHash: string,
  opts: Opts = {}
): Promise<EvidenceBundle> {
  const rows = ctx.repos.outbox.eventsOfDataHash(dataHash)
  const receiptOf = receiptReader(ctx, opts)
  const shares: BundleShare[] = []
  for (const row of rows) {
    if (row.kind !== 'share') continue
    const entry = await outgoingEntry(ctx, rows, row, receiptOf)
    if (entry) shares.push(entry)
  }
  for (const row of ctx.repos.shares.listByDataHash(dataHash)) {
    if (row.direction !== 'in' || row.receipt === null) continue
    const entry = await inboundEntry(ctx, row.receipt, opts)
    if (entry) shares.push(entry)
  }
  const parties = [...new Set(shares.flatMap((s) => [s.share.sender, s.share.recipient]))]
  const identities: BundleIdentity[] = []
  for (const peerId of parties) {
    for (const entry of await ctx.identities.forPeer(peerId, opts)) {
      identities.push({ record: entry.record, anchor: entry.anchor })
    }
  }
  const genesis = await ctx.rpc.call<{ hash: string } | null>('eth_getBlockByNumber', ['0x0', false], opts)
  return {
    v: BUNDLE_VERSION,
    kind: BUNDLE_KIND,
    dataHash,
    chain: {
      chainId: ctx.chainId,
      contract: ctx.contractAddress.toLowerCase(),
      genesisHash: String(genesis?.hash ?? '').toLowerCase()
    },
    identities,
    shares
  }
}

/**
 * This node's evidence entry of the share `shareId` it sent to `requester`, as its bundle holds it
 * (what `/dmn/evidence/1.0.0` answers the recipient); undefined when this node sent no such share
 * to `requester` or its record is not confirmed on chain yet.
 */
export async function outgoingEvidence(
  ctx: BundleContext,
  shareId: string,
  requester: string,
  opts: Opts = {}
): Promise<BundleShare | undefined> {
  const payload = ctx.repos.outbox.payloadOf('share', shareId)
  if (payload === undefined) return undefined
  const p = JSON.parse(payload) as Record<string, unknown>
  if (p['recipient'] !== requester) return undefined
  const rows = ctx.repos.outbox.eventsOfShare(shareId)
  const receiptOf = receiptReader(ctx, opts)
  for (const row of rows) {
    if (row.kind !== 'share') continue
    const entry = await outgoingEntry(ctx, rows, row, receiptOf)
    if (entry) return entry
  }
  return undefined
}

type ReceiptReader = (txHash: string) => Promise<RpcReceipt | null>

/** `eth_getTransactionReceipt`, asked once per transaction however many anchors it holds. */
function receiptReader(ctx: BundleContext, opts: Opts): ReceiptReader {
  const txReceipts = new Map<string, Promise<RpcReceipt | null>>()
  return (txHash) => {
    let r = txReceipts.get(txHash)
    if (!r) {
      r = ctx.rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [txHash], opts)
      txReceipts.set(txHash, r)
    }
    return r
  }
}

/**
 * The entry of the outgoing share whose outbox row is `row`, with its receipt from `rows` (the
 * outbox rows of its data hash): undefined while its record is not confirmed on chain.
 */
async function outgoingEntry(
  ctx: BundleContext,
  rows: readonly DataHashEventRow[],
  row: DataHashEventRow,
  receiptOf: ReceiptReader
): Promise<BundleShare | undefined> {
  const shareAnchor = await anchorOf(ctx, row, TOPICS.ShareRecorded, receiptOf)
  if (!shareAnchor) return undefined
  const p = JSON.parse(row.payload) as Record<string, unknown>
  const share: BundleShareRecord = {
    shareId: String(p['shareId']),
    dataHash: String(p['dataHash']),
    sender: String(p['sender']),
    recipient: String(p['recipient']),
    tier: p['tier'] as BundleShareRecord['tier'],
    timestamp: Number(p['timestamp'])
  }
  // The latest receipt row of the share: one queued again after a chain reset follows the lost one.
  const receiptRow = rows.findLast((r) => r.kind === 'receipt' && r.shareId === row.shareId)
  const signed = receiptRow ? (JSON.parse(receiptRow.payload) as SignedReceipt) : null
  const receiptAnchor = receiptRow ? await anchorOf(ctx, receiptRow, TOPICS.ReceiptAnchored, receiptOf) : null
  return {
    share,
    shareAnchor,
    receipt: signed ? bundleReceipt(signed) : null,
    receiptAnchor: receiptAnchor ?? null
  }
}

/**
 * Where an event of this node went on chain: its own log (`event`) in the transaction that confirmed
 * it, or its batch's `BatchAnchored` log with the inclusion proof (`batch`). Undefined while it is
 * not confirmed or the chain no longer has the transaction.
 */
async function anchorOf(
  ctx: BundleContext,
  row: DataHashEventRow,
  topic: string,
  receiptOf: ReceiptReader
): Promise<Anchor | undefined> {
  if (row.state !== 'confirmed' || row.txHash === null) return undefined
  const receipt = await receiptOf(row.txHash)
  if (receipt?.status !== '0x1') return undefined
  const ours = (log: RpcLog) => log.address.toLowerCase() === ctx.contractAddress.toLowerCase()
  const base = (log: RpcLog): EventAnchor => ({
    type: 'event',
    txHash: receipt.transactionHash.toLowerCase(),
    blockNumber: hexToNumber(receipt.blockNumber),
    blockHash: receipt.blockHash.toLowerCase(),
    logIndex: hexToNumber(log.logIndex)
  })
  if (row.batchId === null) {
    const shareTopic = bytes16(row.shareId).padEnd(66, '0')
    const log = receipt.logs.find((l) => ours(l) && l.topics[0] === topic && l.topics[1] === shareTopic)
    return log ? base(log) : undefined
  }
  const batch = ctx.repos.batches.get(row.batchId)
  const log = receipt.logs.find((l) => ours(l) && l.topics[0] === TOPICS.BatchAnchored)
  if (!batch || !log || row.leafIndex === null) return undefined
  const leaves = ctx.repos.batches.leavesOfBatch(batch.id).map((l) => Buffer.from(l.leaf, 'hex'))
  return {
    ...base(log),
    type: 'batch',
    root: batch.root,
    leafIndex: row.leafIndex,
    treeSize: batch.count,
    proof: inclusionProof(leaves, row.leafIndex).map(hex)
  }
}
