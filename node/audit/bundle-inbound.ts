/**
 * The inbound shares of a data hash in its evidence bundle: the recipient holds the receipt it
 * signed, and finds the sender's `ShareRecorded` and `ReceiptAnchored` on chain by their share-id
 * topic, counting only logs whose submitter is an account the sender's valid identity records bind.
 *
 * The share record's leaf commits to the sender's queue time (`timestamp`), which no message gives the
 * recipient. It is recovered from the anchored leaf by trying the milliseconds around the recipient's
 * own `receivedAt`, nearest first, within the replay window either side (docs/AUDIT.md, "Inbound
 * shares"): a share delivered later than that after it was queued has no entry. A share the sender
 * anchored in a batch has no entry either: the inclusion proof needs the batch's other leaves, which
 * only the sender holds.
 */
import { DEFAULT_REPLAY_WINDOW_SECONDS } from '../crypto/constants.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import type { BundleShare, BundleShareRecord, EventAnchor } from './bundle-format.ts'
import { bytes16, bytes32, parseLog, TOPICS } from './contract.ts'
import { getLogs } from './event-index.ts'
import type { IdentityDirectory } from './identity-directory.ts'
import { canonicalShareRecord, peerIdHash, receiptLeaf, sha256Hex } from './leaves.ts'
import { hexToNumber, type RpcClient, type RpcLog } from './rpc-client.ts'

export interface InboundContext {
  readonly rpc: RpcClient
  readonly contractAddress: string
  readonly deployBlock: number
  readonly identities: IdentityDirectory
}

type Opts = { signal?: AbortSignal }

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

/** The bundle entry of a share this node received, or undefined when it cannot be proven from here. */
export async function inboundEntry(
  ctx: InboundContext,
  signed: SignedReceipt,
  opts: Opts = {}
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
      receipt: { body, signature: signed.signature },
      receiptAnchor: anchored ? anchorOf(anchored) : null
    }
  }
  return undefined
}
