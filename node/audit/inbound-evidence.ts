/**
 * The recipient's listing of inbound shares its sender anchored in a batch (docs/AUDIT.md, "What
 * each party lists"). No event names such a share, so the inbound index never finds it; instead the
 * inbound watcher asks the sender for its entry of each inbound share still pending (received in the
 * last INBOUND_WATCH_MS, first INBOUND_ASK_INTERVAL_MS after the watcher saw it, then at most once
 * per INBOUND_ASK_INTERVAL_MS), and records every batch
 * anchor of the entry that holds the share's leaf (or its receipt's) on chain, with the required
 * confirmations, under a root that an account bound to the share's sender anchored. It records it
 * as an attributed `BatchLeaf` row, as the sender's own index holds its leaves, so the share's
 * audit state and history read it as they read the per-share events.
 */
import { RemoteRefusalError } from '../core/share-errors.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { AuditEventRow } from '../store/audit-events.ts'
import type { BatchAnchor } from './bundle-format.ts'
import { batchAnchorSubmitter } from './bundle-check.ts'
import { askWithin, type SenderEvidence, senderEntry } from './bundle-inbound.ts'
import { INBOUND_ASK_INTERVAL_MS, INBOUND_MAX_OUTSTANDING, INBOUND_WATCH_MS } from './constants.ts'
import type { BoundAccounts } from './inbound-index.ts'
import { peerIdHash, receiptLeaf, shareLeaf } from './leaves.ts'
import { hexToNumber, type RpcClient } from './rpc-client.ts'

type Opts = { signal?: AbortSignal }

export interface SenderAskContext {
  readonly repos: AuditRepositories
  readonly rpc: RpcClient
  readonly contractAddress: string
  readonly confirmations: number
  readonly boundAccounts: BoundAccounts
  readonly senderEvidence: SenderEvidence
  /** When each share was last asked for (Unix ms); kept by the caller across rounds. */
  readonly asked: Map<string, number>
}

/** Asks the senders of pending inbound shares for their entries; returns the batch leaves recorded. */
export async function askSenders(ctx: SenderAskContext, opts: Opts = {}): Promise<number> {
  const now = Date.now()
  for (const [shareId, at] of ctx.asked) if (now - at >= INBOUND_WATCH_MS) ctx.asked.delete(shareId)
  const pending = ctx.repos.inbound.outstandingShareIds({
    since: new Date(now - INBOUND_WATCH_MS).toISOString(),
    limit: INBOUND_MAX_OUTSTANDING
  })
  // A sender that does not answer is not dialled again for its other shares in the same round.
  const silent = new Set<string>()
  let head: number | undefined
  let recorded = 0
  for (const shareId of pending) {
    const last = ctx.asked.get(shareId)
    // First seen: not asked yet. A sender that anchors per share has its events found by the index
    // within moments, and a batch waits for its size or interval: asking at once, before the
    // sender even has the receipt, only earned an EvidenceNotReadyError for nearly every share.
    if (last === undefined) {
      ctx.asked.set(shareId, now)
      continue
    }
    if (now - last < INBOUND_ASK_INTERVAL_MS) continue
    const share = ctx.repos.shares.get(shareId)
    if (!share?.receipt || silent.has(share.sender)) continue
    ctx.asked.set(shareId, now)
    let answer: unknown
    try {
      answer = await askWithin(ctx.senderEvidence, share.sender, shareId, opts)
    } catch (err) {
      if (opts.signal?.aborted) throw err
      if (!(err instanceof RemoteRefusalError)) silent.add(share.sender)
      continue
    }
    const entry = senderEntry(answer, share.receipt)
    if (!entry) continue
    const leaves: Array<{ anchor: BatchAnchor; kind: 'share' | 'receipt'; leaf: string; at: number }> = []
    if (entry.shareAnchor.type === 'batch')
      leaves.push({
        anchor: entry.shareAnchor,
        kind: 'share',
        leaf: shareLeaf(entry.share),
        at: entry.share.timestamp
      })
    if (entry.receiptAnchor?.type === 'batch') {
      const body = share.receipt.body
      leaves.push({
        anchor: entry.receiptAnchor,
        kind: 'receipt',
        leaf: receiptLeaf(body),
        at: body.receivedAt
      })
    }
    if (leaves.length === 0) continue
    head ??= hexToNumber(await ctx.rpc.call<string>('eth_blockNumber', [], opts))
    const bound = new Set((await ctx.boundAccounts(share.sender, opts)).map((a) => a.toLowerCase()))
    const rows: AuditEventRow[] = []
    for (const { anchor, kind, leaf, at } of leaves) {
      if (head - anchor.blockNumber + 1 < ctx.confirmations) continue
      const submitter = await batchAnchorSubmitter(ctx.rpc, ctx.contractAddress, anchor, leaf, opts)
      if (submitter === undefined || !bound.has(submitter)) continue
      rows.push({
        eventName: 'BatchLeaf',
        shareId,
        dataHash: share.dataHash,
        sender: share.sender,
        recipient: share.recipient,
        senderHash: peerIdHash(share.sender),
        recipientHash: peerIdHash(share.recipient),
        tier: share.tier,
        timestampMs: at,
        receiptHash: kind === 'receipt' ? leaf : null,
        root: anchor.root,
        leafIndex: anchor.leafIndex,
        submitter,
        txHash: anchor.txHash,
        blockNumber: anchor.blockNumber,
        blockHash: anchor.blockHash,
        logIndex: anchor.logIndex,
        args: JSON.stringify({ kind, leaf })
      })
    }
    recorded += ctx.repos.transaction(() => rows.filter((row) => ctx.repos.events.add(row)).length)
  }
  return recorded
}
