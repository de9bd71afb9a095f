/**
 * Verification from the chain. Events are found by their indexed topics (eth_getLogs on the
 * contract's address with the data hash or root as a topic), never by scanning blocks; the local
 * copy of each receipt is re-hashed and compared with what the chain holds, and a batched leaf is
 * checked with its RFC 9162 inclusion proof against the anchored root.
 */
import { bytes32, parseLog, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import {
  type AuditEventType,
  base,
  type Evidence,
  head,
  type Opts,
  strip,
  type VerifyContext,
  type VerifyResult
} from './evidence.ts'
import { leafOfPayload, peerIdHash } from './leaves.ts'
import { inclusionProof } from './merkle.ts'
import { verifyLeafInclusion } from './verify-proofs.ts'

export type { AuditEventType, Evidence, VerifyContext, VerifyResult } from './evidence.ts'
export {
  type LeafProof,
  verifyLeafInclusion,
  verifyProofOnChain,
  verifyReceiptOnChain
} from './verify-proofs.ts'

/** Everything the chain holds for `dataHash` (64 hex), checked against the local receipts. */
export async function verifyDataHash(
  ctx: VerifyContext,
  dataHash: string,
  opts: Opts = {}
): Promise<VerifyResult> {
  const topic = bytes32(dataHash)
  const [headBlock, shares] = await Promise.all([
    head(ctx, opts),
    getLogs(ctx.rpc, ctx.contractAddress, [TOPICS.ShareRecorded, null, topic], ctx.deployBlock, opts)
  ])
  // Receipts are found by share id: the receipt's hash commits to its data hash.
  const shareTopics = [...new Set(shares.map((log) => log.topics[1] as string))]
  const receipts =
    shareTopics.length > 0
      ? await getLogs(
          ctx.rpc,
          ctx.contractAddress,
          [TOPICS.ReceiptAnchored, shareTopics],
          ctx.deployBlock,
          opts
        )
      : []
  const evidence: Evidence[] = []
  for (const log of shares) {
    const a = parseLog(log)?.args
    const shareId = strip(String(a?.['shareId']))
    const payload = ctx.repos.outbox.payloadOf('share', shareId)
    let ok = true
    let reason: string | undefined
    if (payload) {
      const p = JSON.parse(payload) as Record<string, unknown>
      ok =
        p['dataHash'] === dataHash &&
        peerIdHash(String(p['recipient'])) === strip(String(a?.['recipientHash'])) &&
        leafOfPayload('share', payload) === strip(String(a?.['leaf']))
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
    const payload = ctx.repos.outbox.payloadOf('receipt', shareId)
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
  const rows = ctx.repos.batches.confirmedLeavesOf(dataHash)
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
    const siblings = ctx.repos.batches.leavesOfBatch(row.batchId)
    let leaf: string | undefined
    let reason: string | undefined
    try {
      leaf = leafOfPayload(row.kind, row.payload)
    } catch (err) {
      reason = `the local record is not canonical: ${(err as Error).message}`
    }
    const leaves = siblings.map((s) =>
      Buffer.from(s.leafIndex === row.leafIndex && leaf ? leaf : s.leaf, 'hex')
    )
    const proof = inclusionProof(leaves, row.leafIndex).map((p) => Buffer.from(p).toString('hex'))
    if (
      leaf &&
      !verifyLeafInclusion({ leaf, leafIndex: row.leafIndex, treeSize: size, proof, root: row.root })
    ) {
      reason = 'the inclusion proof does not lead to the anchored root'
    }
    out.push({
      event: 'BatchAnchored',
      ...base(log, headBlock),
      submitter: a?.['submitter'] ?? null,
      shareId: row.shareId,
      ...(leaf ? { leaf } : {}),
      root: row.root,
      leafIndex: row.leafIndex,
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
