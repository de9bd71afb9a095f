/**
 * Verification of a data hash by this node: it builds the evidence bundle of what it holds
 * (bundle.ts) and runs the same check anyone else runs on it (bundle-check.ts), so `verified` means
 * exactly what docs/AUDIT.md says. The evidence lists every anchor of the bundle and, beside them, the
 * contract's events for the data hash (and receipts for its share ids) sent by accounts bound to no
 * valid identity record: they are shown with the reason `unbound_submitter` and never count.
 */
import { type Anchor, buildBundle, type BundleContext, type EvidenceBundle } from './bundle.ts'
import { type BundleCheck, checkBundle } from './bundle-check.ts'
import { bytes32, parseLog, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import { type AuditEventType, base, type Evidence, type Opts, strip, type VerifyResult } from './evidence.ts'
import { identityBodyOf } from './identity-record.ts'
import { receiptLeaf, shareLeaf } from './leaves.ts'
import { hexToNumber, type RpcLog } from './rpc-client.ts'

export type { AuditEventType, Evidence, VerifyResult } from './evidence.ts'
export {
  type LeafProof,
  verifyLeafInclusion,
  verifyProofOnChain,
  verifyReceiptOnChain
} from './verify-proofs.ts'

export interface VerifyDataContext extends BundleContext {
  /** Confirmations an anchor needs to count. */
  readonly minConfirmations: number
}

/** Builds the bundle of `dataHash` (64 hex), checks it against the chain, and lists the evidence. */
export async function verifyDataHash(
  ctx: VerifyDataContext,
  dataHash: string,
  opts: Opts = {}
): Promise<VerifyResult & { readonly bundle: EvidenceBundle }> {
  const bundle = await buildBundle(ctx, dataHash, opts)
  const check = await checkBundle(bundle, {
    rpc: ctx.rpc,
    minConfirmations: ctx.minConfirmations,
    ...(opts.signal ? { signal: opts.signal } : {})
  })
  const head = hexToNumber(await ctx.rpc.call<string>('eth_blockNumber', [], opts))
  const evidence = [
    ...bundleEvidence(bundle, check, head),
    ...(await unboundEvidence(ctx, bundle, head, opts))
  ]
  const bound = evidence.filter((e) => e.reason !== 'unbound_submitter')
  const event_type: AuditEventType | null = bound.some((e) => e.event === 'ReceiptAnchored')
    ? 'ReceiptAnchored'
    : bound.some((e) => e.event === 'BatchAnchored')
      ? 'BatchAnchored'
      : bound.length > 0
        ? 'ShareRecorded'
        : null
  // Nothing of this node's, but someone else's calls: that is why it is not verified.
  const reason =
    bundle.shares.length === 0 && evidence.some((e) => e.reason === 'unbound_submitter')
      ? 'unbound_submitter'
      : check.reason
  return {
    verified: check.verified,
    ...(reason ? { reason } : {}),
    dataHash,
    event_type,
    shares: check.shares,
    evidence,
    bundle
  }
}

function bundleEvidence(bundle: EvidenceBundle, check: BundleCheck, head: number): Evidence[] {
  const accounts = new Map<string, Set<string>>()
  for (const { record } of bundle.identities) {
    const body = identityBodyOf(record)
    accounts.set(body.peerId, (accounts.get(body.peerId) ?? new Set()).add(body.account))
  }
  const out: Evidence[] = []
  for (const [i, entry] of bundle.shares.entries()) {
    const result = check.shares[i]
    const outcome = {
      ok: result?.verified === true,
      ...(result?.reason ? { reason: result.reason } : {})
    }
    // The account the sender's identity binds (the check compared it with the log's submitter).
    const bound = [...(accounts.get(entry.share.sender) ?? [])]
    const submitter = bound.length === 1 ? (bound[0] as string) : null
    const shareId = entry.share.shareId
    out.push({
      ...anchorEvidence(entry.shareAnchor, 'ShareRecorded', head),
      submitter,
      shareId,
      leaf: shareLeaf(entry.share),
      record: { v: 1, kind: 'share', ...entry.share },
      ...outcome
    })
    if (entry.receipt && entry.receiptAnchor) {
      out.push({
        ...anchorEvidence(entry.receiptAnchor, 'ReceiptAnchored', head),
        submitter,
        shareId,
        leaf: receiptLeaf(entry.receipt.body),
        // A verified share's receipt anchor holds exactly this leaf: the check compared them.
        ...(outcome.ok && entry.receiptAnchor.type === 'event'
          ? { onChainReceiptHash: receiptLeaf(entry.receipt.body) }
          : {}),
        record: entry.receipt,
        ...outcome
      })
    }
  }
  return out
}

function anchorEvidence(a: Anchor, event: AuditEventType, head: number) {
  const common = { txHash: a.txHash, blockNumber: a.blockNumber, confirmations: head - a.blockNumber + 1 }
  if (a.type === 'event') return { event, ...common }
  return {
    event: 'BatchAnchored' as const,
    ...common,
    root: a.root,
    leafIndex: a.leafIndex,
    treeSize: a.treeSize,
    proof: a.proof
  }
}

/**
 * Share events for the data hash, and receipts for their share ids, that the bundle does not hold and
 * whose submitter no valid identity record binds: someone else's calls, which count for nobody.
 */
async function unboundEvidence(
  ctx: VerifyDataContext,
  bundle: EvidenceBundle,
  head: number,
  opts: Opts
): Promise<Evidence[]> {
  const held = new Set(
    bundle.shares.flatMap((s) =>
      [s.shareAnchor, s.receiptAnchor].filter((a) => a !== null).map((a) => `${a.txHash}:${a.logIndex}`)
    )
  )
  const shares = await getLogs(
    ctx.rpc,
    ctx.contractAddress,
    [TOPICS.ShareRecorded, null, bytes32(bundle.dataHash)],
    ctx.deployBlock,
    opts
  )
  const shareTopics = [
    ...new Set([
      ...shares.map((l) => l.topics[1] as string),
      ...bundle.shares.map((s) => `0x${s.share.shareId}`.padEnd(66, '0'))
    ])
  ]
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
  const out: Evidence[] = []
  const bound = new Map<string, boolean>()
  for (const log of [...shares, ...receipts]) {
    if (held.has(`${log.transactionHash.toLowerCase()}:${hexToNumber(log.logIndex)}`)) continue
    const parsed = parseLog(log)
    if (!parsed) continue
    const submitter = String(parsed.args['submitter']).toLowerCase()
    let isBound = bound.get(submitter)
    if (isBound === undefined) {
      isBound = (await ctx.identities.forAccount(submitter, opts)).length > 0
      bound.set(submitter, isBound)
    }
    if (isBound) continue
    out.push(unbound(log, parsed.name as AuditEventType, submitter, head, parsed.args))
  }
  return out
}

function unbound(
  log: RpcLog,
  event: AuditEventType,
  submitter: string,
  head: number,
  args: Record<string, unknown>
): Evidence {
  const leaf = event === 'ReceiptAnchored' ? args['receiptHash'] : args['leaf']
  return {
    event,
    ...base(log, head),
    submitter,
    shareId: strip(String(args['shareId'])),
    leaf: strip(String(leaf)),
    ok: false,
    reason: 'unbound_submitter'
  }
}
