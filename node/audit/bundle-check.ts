/**
 * The check of an evidence bundle (docs/AUDIT.md, "The check"): decides, with nothing but the bundle
 * and a JSON-RPC endpoint, whether each share in it is proven. Every value of the bundle is either
 * recomputed, checked against a signature, or checked against the chain's transaction receipts and
 * blocks; the node's database is never consulted (this module's imports reach no store: a test
 * asserts it), so anyone can run it (`dmn audit check`).
 */
import { receiptInRoot, receiptSignedBytes } from '../core/batch.ts'
import { canonicalReceipt } from '../core/receipt.ts'
import { verifyPss } from '../crypto/rsa.ts'
import {
  type Anchor,
  type BatchAnchor,
  type BundleShare,
  type EvidenceBundle,
  MalformedBundleError,
  parseBundle
} from './bundle-format.ts'
import { bytes16, bytes32, parseLog } from './contract.ts'
import { InvalidIdentityRecordError, type VerifiedIdentity, verifyIdentityRecord } from './identity-record.ts'
import { peerIdHash, receiptLeaf, sha256Hex, shareLeaf } from './leaves.ts'
import { verifyInclusion } from './merkle.ts'
import { hexToNumber, RpcClient, type RpcLog, toHex } from './rpc-client.ts'

/** Why a bundle or a share is not proven; the first found, in the order of docs/AUDIT.md. */
export type BundleCheckReason =
  | 'malformed_bundle'
  | 'wrong_chain'
  | 'chain_reset'
  | 'bad_identity_record'
  | 'identity_not_registered'
  | 'data_hash_mismatch'
  | 'unbound_submitter'
  | 'unbound_recipient'
  | 'not_found'
  | 'proof_mismatch'
  | 'not_delivered'
  | 'receipt_mismatch'
  | 'bad_receipt_signature'
  | 'unconfirmed'

export interface ShareCheck {
  readonly shareId: string
  /** PeerId of the sender, as the share record names it. */
  readonly sender: string
  readonly recipient: string
  readonly tier: string
  readonly verified: boolean
  readonly reason?: BundleCheckReason
  /** The fewest confirmations among the share's anchors found on chain (0 when none was). */
  readonly confirmations: number
}

export interface BundleCheck {
  readonly verified: boolean
  readonly reason?: BundleCheckReason
  /** The bundle's data hash; empty when the bundle could not be read. */
  readonly dataHash: string
  readonly shares: readonly ShareCheck[]
}

export interface CheckBundleOptions {
  /** The chain to check against: a client, or a JSON-RPC URL. */
  readonly rpc: RpcClient | string
  /** Confirmations each anchor needs (default 1). */
  readonly minConfirmations?: number
  readonly signal?: AbortSignal
  /** Per-request timeout when `rpc` is a URL (default 10 s). */
  readonly timeoutMs?: number
}

/** A reason found while checking; internal, it becomes a `reason` in the answer. */
class Refusal extends Error {
  readonly reason: BundleCheckReason

  constructor(reason: BundleCheckReason) {
    super(reason)
    this.reason = reason
  }
}

interface RpcTxReceipt {
  readonly transactionHash: string
  readonly blockNumber: string
  readonly blockHash: string
  readonly status: string
  readonly to: string | null
  readonly logs: readonly RpcLog[]
}

type Opts = { signal?: AbortSignal }

const lower = (v: unknown) => String(v).toLowerCase()

/** What the check reads from the chain, each transaction and block once. */
class ChainView {
  readonly #rpc: RpcClient
  readonly #opts: Opts
  readonly #receipts = new Map<string, Promise<RpcTxReceipt | null>>()
  readonly #blocks = new Map<number, Promise<{ hash: string } | null>>()

  constructor(rpc: RpcClient, opts: Opts) {
    this.#rpc = rpc
    this.#opts = opts
  }

  receipt(txHash: string): Promise<RpcTxReceipt | null> {
    let r = this.#receipts.get(txHash)
    if (!r) {
      r = this.#rpc.call<RpcTxReceipt | null>('eth_getTransactionReceipt', [txHash], this.#opts)
      this.#receipts.set(txHash, r)
    }
    return r
  }

  block(n: number): Promise<{ hash: string } | null> {
    let b = this.#blocks.get(n)
    if (!b) {
      b = this.#rpc.call<{ hash: string } | null>('eth_getBlockByNumber', [toHex(n), false], this.#opts)
      this.#blocks.set(n, b)
    }
    return b
  }

  chainId(): Promise<number> {
    return this.#rpc.call<string>('eth_chainId', [], this.#opts).then(hexToNumber)
  }

  head(): Promise<number> {
    return this.#rpc.call<string>('eth_blockNumber', [], this.#opts).then(hexToNumber)
  }
}

/**
 * The log an anchor names, after checking that its transaction succeeded, was sent to the contract
 * and sits in the named block (`not_found`; `chain_reset` when that block now has another hash).
 */
async function anchoredLog(view: ChainView, contract: string, a: Anchor): Promise<RpcLog> {
  const receipt = await view.receipt(a.txHash)
  if (receipt?.status !== '0x1' || lower(receipt.to) !== contract) throw new Refusal('not_found')
  if (hexToNumber(receipt.blockNumber) !== a.blockNumber || lower(receipt.blockHash) !== a.blockHash) {
    const block = await view.block(a.blockNumber)
    if (block && lower(block.hash) !== a.blockHash && lower(receipt.blockHash) !== a.blockHash)
      throw new Refusal('chain_reset')
    throw new Refusal('not_found')
  }
  const log = receipt.logs.find((l) => hexToNumber(l.logIndex) === a.logIndex)
  if (!log || lower(log.address) !== contract) throw new Refusal('not_found')
  return log
}

/**
 * Checks that an anchor holds `leaf`: for `event`, `expect` accepts the log's event; for `batch`, a
 * BatchAnchored whose root the leaf reaches by the proof (`proof_mismatch`). Returns the submitter.
 */
async function anchoredLeaf(
  view: ChainView,
  contract: string,
  a: Anchor,
  leaf: string,
  expect: (name: string, args: Record<string, unknown>) => boolean
): Promise<string> {
  const log = await anchoredLog(view, contract, a)
  const parsed = parseLog(log)
  if (!parsed) throw new Refusal('proof_mismatch')
  const args = parsed.args.toObject() as Record<string, unknown>
  if (a.type === 'event') {
    if (!expect(parsed.name, args)) throw new Refusal('proof_mismatch')
  } else {
    const included =
      parsed.name === 'BatchAnchored' &&
      lower(args['root']) === bytes32(a.root) &&
      Number(args['count']) === a.treeSize &&
      verifyInclusion(
        Buffer.from(leaf, 'hex'),
        a.leafIndex,
        a.treeSize,
        a.proof.map((p) => Buffer.from(p, 'hex')),
        Buffer.from(a.root, 'hex')
      )
    if (!included) throw new Refusal('proof_mismatch')
  }
  return lower(args['submitter'])
}

/**
 * The account (lower case) that anchored the batch `anchor` names, when the anchor holds `leaf` (64
 * hex) on chain by the check's step 4 against `contract`; undefined when it does not. What the
 * recipient's listing asks of a batch anchor its sender gave it (inbound-evidence.ts).
 */
export async function batchAnchorSubmitter(
  rpc: RpcClient,
  contract: string,
  anchor: BatchAnchor,
  leaf: string,
  opts: Opts = {}
): Promise<string | undefined> {
  try {
    return await anchoredLeaf(new ChainView(rpc, opts), lower(contract), anchor, leaf, () => false)
  } catch (err) {
    if (err instanceof Refusal) return undefined
    throw err
  }
}

interface Context {
  readonly view: ChainView
  readonly bundle: EvidenceBundle
  readonly contract: string
  readonly byPeer: ReadonlyMap<string, readonly VerifiedIdentity[]>
  readonly head: number
}

async function checkShare(ctx: Context, entry: BundleShare): Promise<{ confirmations: number }> {
  const { share, receipt } = entry
  const depth = (a: Anchor) => ctx.head - a.blockNumber + 1
  if (share.dataHash !== ctx.bundle.dataHash) throw new Refusal('data_hash_mismatch')
  const senders = ctx.byPeer.get(share.sender) ?? []
  const recipients = ctx.byPeer.get(share.recipient) ?? []
  if (senders.length === 0) throw new Refusal('unbound_submitter')
  if (recipients.length === 0) throw new Refusal('unbound_recipient')
  const accounts = new Set(senders.map((s) => s.body.account))
  const leaf = shareLeaf(share)
  const shareSubmitter = await anchoredLeaf(
    ctx.view,
    ctx.contract,
    entry.shareAnchor,
    leaf,
    (name, a) =>
      name === 'ShareRecorded' &&
      lower(a['shareId']) === bytes16(share.shareId) &&
      lower(a['dataHash']) === bytes32(share.dataHash) &&
      lower(a['recipientHash']) === bytes32(peerIdHash(share.recipient)) &&
      lower(a['leaf']) === bytes32(leaf)
  )
  if (!accounts.has(shareSubmitter)) throw new Refusal('unbound_submitter')
  if (!receipt) throw new Refusal('not_delivered')
  const b = receipt.body
  if (
    b.shareId !== share.shareId ||
    b.dataHash !== share.dataHash ||
    b.sender !== share.sender ||
    b.recipient !== share.recipient ||
    b.tier !== share.tier
  ) {
    throw new Refusal('receipt_mismatch')
  }
  // A batched receipt is signed through its root: the proof takes its leaf there, the root is signed.
  if (!receiptInRoot(receipt)) throw new Refusal('bad_receipt_signature')
  const bytes = receiptSignedBytes(receipt, canonicalReceipt)
  const signature = Buffer.from(receipt.signature, 'base64')
  if (!recipients.some((r) => verifyPss(r.signingKeyPem, bytes, signature)))
    throw new Refusal('bad_receipt_signature')
  if (!entry.receiptAnchor) throw new Refusal('not_found')
  const rLeaf = receiptLeaf(b)
  const receiptSubmitter = await anchoredLeaf(
    ctx.view,
    ctx.contract,
    entry.receiptAnchor,
    rLeaf,
    (name, a) =>
      name === 'ReceiptAnchored' &&
      lower(a['shareId']) === bytes16(share.shareId) &&
      lower(a['receiptHash']) === bytes32(rLeaf)
  )
  if (!accounts.has(receiptSubmitter)) throw new Refusal('unbound_submitter')
  return { confirmations: Math.min(depth(entry.shareAnchor), depth(entry.receiptAnchor)) }
}

/**
 * Checks a bundle (an object, or its text: then also its canonical form) against the chain behind
 * `opts.rpc`. Never throws for what the bundle holds: a bad bundle is `verified: false` with a
 * reason. Throws ChainUnavailableError (or the caller's abort) when the chain does not answer.
 */
export async function checkBundle(input: unknown, opts: CheckBundleOptions): Promise<BundleCheck> {
  const rpc =
    typeof opts.rpc === 'string'
      ? new RpcClient({ url: opts.rpc, timeoutMs: opts.timeoutMs ?? 10_000 })
      : opts.rpc
  const min = opts.minConfirmations ?? 1
  const view = new ChainView(rpc, opts.signal ? { signal: opts.signal } : {})
  let bundle: EvidenceBundle
  try {
    bundle = parseBundle(input)
  } catch (err) {
    if (err instanceof MalformedBundleError)
      return { verified: false, reason: 'malformed_bundle', dataHash: '', shares: [] }
    throw err
  }
  const refuseAll = (reason: BundleCheckReason): BundleCheck => ({
    verified: false,
    reason,
    dataHash: bundle.dataHash,
    shares: bundle.shares.map((s) => ({ ...summary(s), verified: false, reason, confirmations: 0 }))
  })
  if ((await view.chainId()) !== bundle.chain.chainId) return refuseAll('wrong_chain')
  const genesis = await view.block(0)
  if (!genesis || lower(genesis.hash) !== bundle.chain.genesisHash) return refuseAll('chain_reset')
  const contract = bundle.chain.contract
  const head = await view.head()
  const byPeer = new Map<string, VerifiedIdentity[]>()
  for (const identity of bundle.identities) {
    let verified: VerifiedIdentity
    try {
      verified = await verifyIdentityRecord(identity.record)
    } catch (err) {
      if (err instanceof InvalidIdentityRecordError) return refuseAll('bad_identity_record')
      throw err
    }
    try {
      const log = await anchoredLog(view, contract, identity.anchor)
      const parsed = parseLog(log)
      const a = parsed?.args
      const registered =
        parsed?.name === 'NodeRegistered' &&
        lower(a?.['account']) === verified.body.account &&
        lower(a?.['peerIdHash']) === bytes32(peerIdHash(verified.body.peerId)) &&
        lower(a?.['recordHash']) === bytes32(sha256Hex(identity.record))
      if (!registered) return refuseAll('identity_not_registered')
    } catch (err) {
      if (!(err instanceof Refusal)) throw err
      return refuseAll(err.reason === 'chain_reset' ? 'chain_reset' : 'identity_not_registered')
    }
    if (head - identity.anchor.blockNumber + 1 < min) return refuseAll('unconfirmed')
    byPeer.set(verified.body.peerId, [...(byPeer.get(verified.body.peerId) ?? []), verified])
  }
  const ctx: Context = { view, bundle, contract, byPeer, head }
  const shares: ShareCheck[] = []
  for (const entry of bundle.shares) {
    try {
      const { confirmations } = await checkShare(ctx, entry)
      shares.push(
        confirmations >= min
          ? { ...summary(entry), verified: true, confirmations }
          : { ...summary(entry), verified: false, reason: 'unconfirmed', confirmations }
      )
    } catch (err) {
      if (!(err instanceof Refusal)) throw err
      shares.push({ ...summary(entry), verified: false, reason: err.reason, confirmations: 0 })
    }
  }
  const failed = shares.find((s) => !s.verified)
  if (shares.length === 0) return { verified: false, reason: 'not_found', dataHash: bundle.dataHash, shares }
  return failed
    ? {
        verified: false,
        ...(failed.reason ? { reason: failed.reason } : {}),
        dataHash: bundle.dataHash,
        shares
      }
    : { verified: true, dataHash: bundle.dataHash, shares }
}

function summary(entry: BundleShare) {
  const s = entry.share
  return { shareId: s.shareId, sender: s.sender, recipient: s.recipient, tier: s.tier }
}
