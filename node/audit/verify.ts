/**
 * Verification from the chain. Events are found by their indexed topics (eth_getLogs on the
 * contract's address with the data hash or root as a topic), never by scanning blocks; the local
 * copy of each receipt is re-hashed and compared with what the chain holds, and a batched leaf is
 * checked with its RFC 9162 inclusion proof against the anchored root.
 */
import type { Db } from '../store/database.ts'
import { type ReceiptBody, receiptHash } from '../core/receipt.ts'
import { bytes16, bytes32, parseLog, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import { leafOfPayload, peerIdHash } from './leaves.ts'
import { inclusionProof, verifyInclusion } from './merkle.ts'
import { hexToNumber, type RpcClient, type RpcLog } from './rpc-client.ts'

export interface VerifyContext {
  readonly db: Db
  readonly rpc: RpcClient
  readonly contractAddress: string
  readonly deployBlock: number
}

export type AuditEventType = 'ShareRecorded' | 'ReceiptAnchored' | 'BatchAnchored'

export interface Evidence {
  readonly event: AuditEventType
  readonly txHash: string
  readonly blockNumber: number
  readonly confirmations: number
  readonly submitter: string | null
  readonly shareId: string | null
  /** Receipt hash (ReceiptAnchored) or leaf (BatchAnchored) as recomputed from the local copy. */
  readonly leaf?: string
  readonly onChainReceiptHash?: string
  readonly root?: string
  readonly leafIndex?: number
  readonly treeSize?: number
  readonly firstSequence?: number
  /** Audit path, bottom up, 64 hex each. */
  readonly proof?: readonly string[]
  /** The canonical receipt or share record the leaf is the hash of. */
  readonly record?: unknown
  readonly ok: boolean
  readonly reason?: string
}

export interface VerifyResult {
  readonly verified: boolean
  readonly dataHash: string
  /** The strongest kind of record found: a receipt anchored on its own or in a batch, else the share. */
  readonly event_type: AuditEventType | null
  readonly evidence: readonly Evidence[]
}

type Opts = { signal?: AbortSignal }
const strip = (h: string) => h.replace(/^0x/, '').toLowerCase()

async function head(ctx: VerifyContext, opts: Opts): Promise<number> {
  return hexToNumber(await ctx.rpc.call<string>('eth_blockNumber', [], opts))
}

function base(log: RpcLog, headBlock: number) {
  const blockNumber = hexToNumber(log.blockNumber)
  return { txHash: log.transactionHash, blockNumber, confirmations: headBlock - blockNumber + 1 }
}

function localPayload(db: Db, kind: string, shareId: string): string | undefined {
  const row = db.prepare('SELECT payload FROM outbox WHERE kind = ? AND share_id = ?').get(kind, shareId) as
    | { payload: string }
    | undefined
  return row?.payload
}

/** Everything the chain holds for `dataHash` (64 hex), checked against the local receipts. */
export async function verifyDataHash(
  ctx: VerifyContext,
  dataHash: string,
  opts: Opts = {}
): Promise<VerifyResult> {
  const topic = bytes32(dataHash)
  const [headBlock, shares, receipts] = await Promise.all([
    head(ctx, opts),
    getLogs(ctx.rpc, ctx.contractAddress, [TOPICS.ShareRecorded, null, topic], ctx.deployBlock, opts),
    getLogs(ctx.rpc, ctx.contractAddress, [TOPICS.ReceiptAnchored, null, topic], ctx.deployBlock, opts)
  ])
  const evidence: Evidence[] = []
  for (const log of shares) {
    const a = parseLog(log)?.args
    const shareId = strip(String(a?.['shareId']))
    const payload = localPayload(ctx.db, 'share', shareId)
    let ok = true
    let reason: string | undefined
    if (payload) {
      const p = JSON.parse(payload) as Record<string, unknown>
      ok =
        p['dataHash'] === dataHash &&
        peerIdHash(String(p['sender'])) === strip(String(a?.['senderHash'])) &&
        peerIdHash(String(p['recipient'])) === strip(String(a?.['recipientHash'])) &&
        Number(p['timestamp']) === Number(a?.['timestamp'])
      if (!ok) reason = 'the local share record differs from the chain'
    }
    evidence.push({
      event: 'ShareRecorded',
      ...base(log, headBlock),
      submitter: a?.['submitter'] ?? null,
      shareId,
      ...(payload ? { record: JSON.parse(payload) } : {}),
      ok,
      ...(reason ? { reason } : {})
    })
  }
  for (const log of receipts) {
    const a = parseLog(log)?.args
    const shareId = strip(String(a?.['shareId']))
    const onChain = strip(String(a?.['receiptHash']))
    const payload = localPayload(ctx.db, 'receipt', shareId)
    let leaf: string | undefined
    let reason: string | undefined
    if (payload) {
      try {
        leaf = leafOfPayload('receipt', payload)
      } catch (err) {
        reason = `the local receipt is not canonical: ${(err as Error).message}`
      }
      if (leaf !== undefined && leaf !== onChain)
        reason = 'the local receipt does not hash to the anchored receipt hash'
    }
    evidence.push({
      event: 'ReceiptAnchored',
      ...base(log, headBlock),
      submitter: a?.['submitter'] ?? null,
      shareId,
      onChainReceiptHash: onChain,
      ...(leaf ? { leaf } : {}),
      ...(payload ? { record: JSON.parse(payload) } : {}),
      ok: reason === undefined,
      ...(reason ? { reason } : {})
    })
  }
  evidence.push(...(await batchEvidence(ctx, dataHash, headBlock, opts)))
  const event_type: AuditEventType | null = evidence.some((e) => e.event === 'ReceiptAnchored')
    ? 'ReceiptAnchored'
    : evidence.some((e) => e.event === 'BatchAnchored')
      ? 'BatchAnchored'
      : evidence.length > 0
        ? 'ShareRecorded'
        : null
  return { verified: evidence.length > 0 && evidence.every((e) => e.ok), dataHash, event_type, evidence }
}

async function batchEvidence(
  ctx: VerifyContext,
  dataHash: string,
  headBlock: number,
  opts: Opts
): Promise<Evidence[]> {
  const rows = ctx.db
    .prepare(
      `SELECT o.id, o.kind, o.share_id, o.payload, o.leaf_index, b.id AS batch_id, b.root FROM outbox o
       JOIN audit_batches b ON b.id = o.batch_id WHERE o.data_hash = ? AND b.state = 'confirmed'`
    )
    .all(dataHash) as {
    id: number
    kind: string
    share_id: string
    payload: string
    leaf_index: number
    batch_id: number
    root: string
  }[]
  const out: Evidence[] = []
  for (const row of rows) {
    const logs = await getLogs(
      ctx.rpc,
      ctx.contractAddress,
      [TOPICS.BatchAnchored, bytes32(row.root)],
      ctx.deployBlock,
      opts
    )
    const log = logs[0]
    if (!log) continue
    const a = parseLog(log)?.args
    const size = Number(a?.['count'])
    const siblings = ctx.db
      .prepare('SELECT leaf_index, leaf FROM outbox WHERE batch_id = ? ORDER BY leaf_index')
      .all(row.batch_id) as { leaf_index: number; leaf: string }[]
    let leaf: string | undefined
    let reason: string | undefined
    try {
      leaf = leafOfPayload(row.kind, row.payload)
    } catch (err) {
      reason = `the local record is not canonical: ${(err as Error).message}`
    }
    const leaves = siblings.map((s) =>
      Buffer.from(s.leaf_index === row.leaf_index && leaf ? leaf : s.leaf, 'hex')
    )
    const proof = inclusionProof(leaves, row.leaf_index).map((p) => Buffer.from(p).toString('hex'))
    if (
      leaf &&
      !verifyLeafInclusion({ leaf, leafIndex: row.leaf_index, treeSize: size, proof, root: row.root })
    ) {
      reason = 'the inclusion proof does not lead to the anchored root'
    }
    out.push({
      event: 'BatchAnchored',
      ...base(log, headBlock),
      submitter: a?.['submitter'] ?? null,
      shareId: row.share_id,
      ...(leaf ? { leaf } : {}),
      root: row.root,
      leafIndex: row.leaf_index,
      treeSize: size,
      firstSequence: Number(a?.['firstSequence']),
      proof,
      record: row.kind === 'receipt' ? JSON.parse(row.payload) : JSON.parse(row.payload),
      ok: reason === undefined,
      ...(reason ? { reason } : {})
    })
  }
  return out
}

export interface LeafProof {
  /** 64 hex: a receipt hash or share-record hash. */
  readonly leaf: string
  readonly leafIndex: number
  readonly treeSize: number
  readonly proof: readonly string[]
  /** 64 hex. */
  readonly root: string
}

/** Checks an inclusion proof offline (no chain): RFC 9162 2.1.3.2. */
export function verifyLeafInclusion(p: LeafProof): boolean {
  const hex = /^[0-9a-f]{64}$/
  if (!hex.test(p.leaf) || !hex.test(p.root) || !p.proof.every((s) => hex.test(s))) return false
  return verifyInclusion(
    Buffer.from(p.leaf, 'hex'),
    p.leafIndex,
    p.treeSize,
    p.proof.map((s) => Buffer.from(s, 'hex')),
    Buffer.from(p.root, 'hex')
  )
}

/**
 * Checks a proof someone holds against the chain: the root must be anchored (found by its topic)
 * with the same tree size, and the proof must lead from the leaf to it.
 */
export async function verifyProofOnChain(
  ctx: VerifyContext,
  p: LeafProof,
  opts: Opts = {}
): Promise<{ verified: boolean; evidence: Evidence | null }> {
  const [headBlock, logs] = await Promise.all([
    head(ctx, opts),
    getLogs(ctx.rpc, ctx.contractAddress, [TOPICS.BatchAnchored, bytes32(p.root)], ctx.deployBlock, opts)
  ])
  const log = logs[0]
  if (!log) return { verified: false, evidence: null }
  const a = parseLog(log)?.args
  const sizeOk = Number(a?.['count']) === p.treeSize
  const ok = sizeOk && verifyLeafInclusion(p)
  return {
    verified: ok,
    evidence: {
      event: 'BatchAnchored',
      ...base(log, headBlock),
      submitter: a?.['submitter'] ?? null,
      shareId: null,
      leaf: p.leaf,
      root: p.root,
      leafIndex: p.leafIndex,
      treeSize: Number(a?.['count']),
      firstSequence: Number(a?.['firstSequence']),
      proof: p.proof,
      ok,
      ...(ok
        ? {}
        : {
            reason: sizeOk
              ? 'the proof does not lead to the anchored root'
              : 'tree size differs from the anchored count'
          })
    }
  }
}

/**
 * Checks a receipt someone holds against the chain (per-share mode): its canonical hash must be the
 * receipt hash anchored for its share id (found by the share-id topic).
 */
export async function verifyReceiptOnChain(
  ctx: VerifyContext,
  body: ReceiptBody,
  opts: Opts = {}
): Promise<{ verified: boolean; evidence: Evidence | null }> {
  const leaf = Buffer.from(receiptHash(body)).toString('hex')
  const [headBlock, logs] = await Promise.all([
    head(ctx, opts),
    getLogs(
      ctx.rpc,
      ctx.contractAddress,
      [TOPICS.ReceiptAnchored, bytes16(body.shareId).padEnd(66, '0')],
      ctx.deployBlock,
      opts
    )
  ])
  const log = logs[0]
  if (!log) return { verified: false, evidence: null }
  const a = parseLog(log)?.args
  const onChain = strip(String(a?.['receiptHash']))
  const ok = onChain === leaf && strip(String(a?.['dataHash'])) === body.dataHash
  return {
    verified: ok,
    evidence: {
      event: 'ReceiptAnchored',
      ...base(log, headBlock),
      submitter: a?.['submitter'] ?? null,
      shareId: body.shareId,
      leaf,
      onChainReceiptHash: onChain,
      record: body,
      ok,
      ...(ok ? {} : { reason: 'the receipt does not hash to the anchored receipt hash' })
    }
  }
}
