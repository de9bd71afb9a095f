/**
 * The inbound shares of a data hash in its evidence bundle: the recipient holds the receipt it
 * signed, and finds the sender's `ShareRecorded` and `ReceiptAnchored` on chain by their share-id
 * topic, counting only logs whose submitter is an account the sender's valid identity records bind.
 *
 * Two things only the sender holds: the share record's queue time (`timestamp`, which its leaf
 * commits to) and, for a share it anchored in a batch, the inclusion proofs (they need the batch's
 * other leaves). So the recipient first asks the sender for its own entry of the share
 * (`/dmn/evidence/1.0.0`, through the `SenderEvidence` port) and takes it when it names this share
 * with the receipt this node signed (docs/AUDIT.md, "Inbound shares"); every value in it is checked
 * again by checkBundle. When the sender gives no such entry, the node falls back to the chain: it
 * recovers the queue time from a `ShareRecorded` leaf by trying the milliseconds around its own
 * `receivedAt`, nearest first, within the replay window either side. Without the sender, a share
 * delivered later than that after it was queued, and a batched share, have no entry.
 */
import { DEFAULT_REPLAY_WINDOW_SECONDS } from '../crypto/constants.ts'
import { SENDER_ASK_TIMEOUT_MS } from './constants.ts'
import { bundleReceipt, type SignedReceipt } from '../core/receipt.ts'
import {
  type Anchor,
  type BundleShare,
  type BundleShareRecord,
  type EventAnchor,
  parseShareEntry
} from './bundle-format.ts'
import { bytes16, bytes32, parseLog, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import type { IdentityDirectory } from './identity-directory.ts'
import { canonicalShareRecord, peerIdHash, receiptLeaf, sha256Hex, shareLeaf } from './leaves.ts'
import { verifyInclusion } from './merkle.ts'
import { hexToNumber, type RpcClient, type RpcLog } from './rpc-client.ts'

type Opts = { signal?: AbortSignal }

/**
 * Asks a share's sender for its evidence entry of the share (node/p2p's `/dmn/evidence/1.0.0`,
 * wired in node/main.ts): the answer as sent, unchecked. Throws when the sender does not answer
 * or refuses.
 */
export type SenderEvidence = (sender: string, shareId: string, opts: Opts) => Promise<unknown>

export interface InboundContext {
  readonly rpc: RpcClient
  readonly contractAddress: string
  readonly deployBlock: number
  readonly identities: IdentityDirectory
  /** Without it, only the chain search is tried. */
  readonly senderEvidence?: SenderEvidence | undefined
}

// How far from the recipient's receive time the sender's queue time is looked for, in ms.
const SEARCH_MS = DEFAULT_REPLAY_WINDOW_SECONDS * 1000

const anchorOf = (log: RpcLog): EventAnchor => ({
  type: 'event',
  txHash: log.transactionHash.toLowerCase(),
  blockNumber: hexToNumber(log.blockNumber),
  blockHash: log.blockHash.toLowerCase(),
  logIndex: hexToNumber(log.logIndex)
})

/** The sender's queue time whose share record hashes to `leaf`, if it lies in the search window. */
export function recoverTimestamp(
  record: Omit<BundleShareRecord, 'timestamp'>,
  receivedAt: number,
  leaf: string
): number | undefined {
  // The record's canonical text ends with its timestamp: encode the rest once, hash only the digits.
  const prefix = canonicalShareRecord({ ...record, timestamp: 0 }).slice(0, -'0}'.length)
  const matches = (t: number) => t >= 0 && sha256Hex(`${prefix}${t}}`) === leaf
  for (let k = 0; k <= SEARCH_MS; k++) {
    if (matches(receivedAt - k)) return receivedAt - k
    if (k > 0 && matches(receivedAt + k)) return receivedAt + k
  }
  return undefined
}

/**
 * The bundle entry of a share this node received: the sender's own entry when it gives one that
 * names this share, else what the chain search finds; undefined when neither proves it from here.
 */
export async function inboundEntry(
  ctx: InboundContext,
  signed: SignedReceipt,
  opts: Opts = {}
): Promise<BundleShare | undefined> {
  return (await askSender(ctx, signed, opts)) ?? (await searchChain(ctx, signed, opts))
}

/** The sender's answer, given within SENDER_ASK_TIMEOUT_MS (or the caller's own deadline, if sooner). */
export function askWithin(
  ask: SenderEvidence,
  sender: string,
  shareId: string,
  opts: Opts
): Promise<unknown> {
  const deadline = AbortSignal.timeout(SENDER_ASK_TIMEOUT_MS)
  return ask(sender, shareId, { signal: opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline })
}

/** The sender's entry of the share, when it answers one that `senderEntry` takes. */
export async function askSender(
  ctx: Pick<InboundContext, 'senderEvidence'>,
  signed: SignedReceipt,
  opts: Opts = {}
): Promise<BundleShare | undefined> {
  if (!ctx.senderEvidence) return undefined
  let answer: unknown
  try {
    answer = await askWithin(ctx.senderEvidence, signed.body.sender, signed.body.shareId, opts)
  } catch (err) {
    // A sender that is offline, refuses or is not ready leaves the chain search; our own abort does not.
    if (opts.signal?.aborted) throw err
    return undefined
  }
  return senderEntry(answer, signed)
}

/**
 * The sender's answer as this node's entry of the share it received with the receipt `signed`:
 * undefined unless it is an entry in the bundle's form whose share record names this share (id,
 * data hash, sender, recipient = this node, tier, as the receipt this node signed says), and whose
 * batch anchors, if any, take their leaves to their roots. The receipt is this node's own, and a
 * receipt anchor whose batch proof does not take that receipt's leaf to its root is dropped (the
 * check then says `not_found`). Whether the anchors are on chain, and submitted by the sender's
 * account, is the check's to decide.
 */
export function senderEntry(answer: unknown, signed: SignedReceipt): BundleShare | undefined {
  let entry: BundleShare
  try {
    entry = parseShareEntry(answer)
  } catch {
    return undefined
  }
  const body = signed.body
  const s = entry.share
  const same =
    s.shareId === body.shareId &&
    s.dataHash === body.dataHash &&
    s.sender === body.sender &&
    s.recipient === body.recipient &&
    s.tier === body.tier
  if (!same || !reaches(entry.shareAnchor, shareLeaf(s))) return undefined
  const share: BundleShareRecord = {
    shareId: s.shareId,
    dataHash: s.dataHash,
    sender: s.sender,
    recipient: s.recipient,
    tier: s.tier,
    timestamp: s.timestamp
  }
  const receiptAnchor =
    entry.receiptAnchor && reaches(entry.receiptAnchor, receiptLeaf(body)) ? entry.receiptAnchor : null
  return {
    share,
    shareAnchor: entry.shareAnchor,
    receipt: bundleReceipt({ ...signed, body }),
    receiptAnchor
  }
}

/** A batch anchor's proof takes `leaf` (64 hex) to its root; an event anchor is for the chain to say. */
function reaches(anchor: Anchor, leaf: string): boolean {
  if (anchor.type === 'event') return true
  return verifyInclusion(
    Buffer.from(leaf, 'hex'),
    anchor.leafIndex,
    anchor.treeSize,
    anchor.proof.map((p) => Buffer.from(p, 'hex')),
    Buffer.from(anchor.root, 'hex')
  )
}

/**
 * The entry from the chain alone: the sender's `ShareRecorded` and `ReceiptAnchored` by share-id
 * topic, with the queue time recovered around `receivedAt`. Finds per-share anchors only.
 */
async function searchChain(
  ctx: InboundContext,
  signed: SignedReceipt,
  opts: Opts
): Promise<BundleShare | undefined> {
  const body = signed.body
  const accounts = new Set((await ctx.identities.forPeer(body.sender, opts)).map((e) => e.body.account))
  if (accounts.size === 0) return undefined
  const shareTopic = bytes16(body.shareId).padEnd(66, '0')
  const [records, receipts] = await Promise.all([
    getLogs(ctx.rpc, ctx.contractAddress, [TOPICS.ShareRecorded, shareTopic], ctx.deployBlock, opts),
    getLogs(ctx.rpc, ctx.contractAddress, [TOPICS.ReceiptAnchored, shareTopic], ctx.deployBlock, opts)
  ])
  const bySender = (log: RpcLog) => {
    const a = parseLog(log)?.args
    return a !== undefined && accounts.has(String(a['submitter']).toLowerCase()) ? a : undefined
  }
  const partial = {
    shareId: body.shareId,
    dataHash: body.dataHash,
    sender: body.sender,
    recipient: body.recipient,
    tier: body.tier
  }
  for (const log of records) {
    const a = bySender(log)
    if (!a) continue
    if (String(a['dataHash']).toLowerCase() !== bytes32(body.dataHash)) continue
    if (String(a['recipientHash']).toLowerCase() !== bytes32(peerIdHash(body.recipient))) continue
    const timestamp = recoverTimestamp(partial, body.receivedAt, String(a['leaf']).slice(2).toLowerCase())
    if (timestamp === undefined) continue
    const leaf = bytes32(receiptLeaf(body))
    const anchored = receipts.find((r) => String(bySender(r)?.['receiptHash']).toLowerCase() === leaf)
    return {
      share: { ...partial, timestamp },
      shareAnchor: anchorOf(log),
      receipt: bundleReceipt({ ...signed, body }),
      receiptAnchor: anchored ? anchorOf(anchored) : null
    }
  }
  return undefined
}
