/**
 * Checks of what someone outside holds: a batch inclusion proof (offline, and against the anchored
 * root found by its topic), and a receipt against the receipt hash anchored for its share id.
 */
import { type ReceiptBody, receiptHash } from '../core/receipt.ts'
import { bytes32, parseLog, shareIdTopic, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import { base, type Evidence, head, type Opts, strip, type VerifyContext } from './evidence.ts'
import { verifyInclusion } from './merkle.ts'

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
      [TOPICS.ReceiptAnchored, shareIdTopic(body.shareId)],
      ctx.deployBlock,
      opts
    )
  ])
  const log = logs[0]
  if (!log) return { verified: false, evidence: null }
  const a = parseLog(log)?.args
  const onChain = strip(String(a?.['receiptHash']))
  const ok = onChain === leaf
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
