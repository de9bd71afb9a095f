/**
 * Batched delivery (README "Batched delivery"): the formats both ends agree on, and the rules that
 * decide what travels together. No I/O, no keys: node/crypto seals and signs, node/p2p carries.
 *
 * The manifest is what the sender signs once per batch. Its canonical encoding, UTF-8 JSON with keys
 * in this exact order and no whitespace:
 *
 *   {"v":1,"kind":"dmn-share-batch","batchId":"<32 hex>","sender":"<PeerId>","recipient":"<PeerId>",
 *    "senderKeyId":"<64 hex>","recipientKeyId":"<64 hex>","wrappedKey":"<base64>","keys":"<base64>","entries":[
 *     {"shareId":"<32 hex>","tier":"standard|high|maximum","dataHash":"<64 hex>","nonce":"<32 hex>",
 *      "timestamp":<Unix ms>,"sealedHash":"<64 hex>"}, ...]}
 *
 * `wrappedKey` is the batch key wrapped once with RSA-OAEP to the recipient; `keys` is every entry's
 * own fresh content key, in entry order, wrapped with the batch key (one AES-256-GCM operation);
 * each entry's sealed part (its ciphertext) hashes to `sealedHash`, so one signature covers every
 * share while each share is checked, opened and refused on its own.
 *
 * The receipt root is what the recipient signs once per batch:
 *
 *   {"v":1,"kind":"dmn-receipt-root","batchId":"<32 hex>","sender":"<PeerId>","recipient":"<PeerId>",
 *    "treeSize":<n>,"root":"<64 hex>","signedAt":<Unix ms>}
 *
 * `root` is the RFC 9162 tree head over the receipts' leaves (SHA-256 of each canonical receipt, the
 * same leaf the audit trail anchors), in the order of the batch's stored shares. Each share's receipt
 * carries the root, its leaf index and its inclusion proof, and so verifies alone.
 */
import { DmnError } from './errors.ts'
import { merkleTree, verifyInclusion } from './merkle.ts'
import { receiptHash, type ReceiptBody, type SignedReceipt } from './receipt.ts'
import { DATA_HASH_PATTERN, isTier, PEER_ID_PATTERN, SHARE_ID_PATTERN, type Tier } from './share.ts'

export const BATCH_MANIFEST_KIND = 'dmn-share-batch'
export const RECEIPT_ROOT_KIND = 'dmn-receipt-root'

/** One share of a batch, as the manifest names it. */
export interface BatchEntry {
  readonly shareId: string
  readonly tier: Tier
  readonly dataHash: string
  /** 32 hex: this share's own replay nonce. */
  readonly nonce: string
  /** Unix ms: this share's own timestamp, checked against the replay window. */
  readonly timestamp: number
  /** SHA-256 (64 hex) of the entry's sealed part as it travels. */
  readonly sealedHash: string
}

export interface BatchManifest {
  readonly v: 1
  readonly kind: typeof BATCH_MANIFEST_KIND
  readonly batchId: string
  readonly sender: string
  readonly recipient: string
  readonly senderKeyId: string
  readonly recipientKeyId: string
  /** Base64 RSA-OAEP wrap of the batch key. */
  readonly wrappedKey: string
  /** Base64: the entries' content keys wrapped with the batch key (GCM nonce, ciphertext, tag). */
  readonly keys: string
  readonly entries: readonly BatchEntry[]
}

export interface ReceiptRootBody {
  readonly v: 1
  readonly kind: typeof RECEIPT_ROOT_KIND
  readonly batchId: string
  readonly sender: string
  readonly recipient: string
  readonly treeSize: number
  /** 64 hex. */
  readonly root: string
  readonly signedAt: number
}

/** Where a batched receipt sits under its signed root. */
export interface ReceiptBatchProof {
  readonly root: ReceiptRootBody
  readonly leafIndex: number
  /** The RFC 9162 audit path, bottom up, 64 hex each. */
  readonly proof: readonly string[]
}

/** A manifest or receipt root that is not in its documented form. */
export class InvalidBatchError extends DmnError {
  override name = 'InvalidBatchError'
}

/** A batch entry whose sealed part is not the one the signed manifest names. */
export class BatchEntryTamperedError extends DmnError {
  override name = 'BatchEntryTamperedError'
}

const HEX32 = /^[0-9a-f]{32}$/
const HEX64 = /^[0-9a-f]{64}$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const s = JSON.stringify
const utf8 = new TextEncoder()

type Obj = Record<string, unknown>

function fields(value: unknown, keys: string, where: string): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidBatchError(`${where} must be an object`)
  const got = Object.keys(value).sort().join(',')
  if (got !== keys) throw new InvalidBatchError(`${where} has fields ${got}`)
  return value as Obj
}

function text(o: Obj, key: string, pattern: RegExp, where: string): void {
  const v = o[key]
  if (typeof v !== 'string' || !pattern.test(v)) throw new InvalidBatchError(`bad ${where}.${key}`)
}

function uint(o: Obj, key: string, where: string): void {
  const v = o[key]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new InvalidBatchError(`bad ${where}.${key}`)
}

/** The manifest's canonical bytes (module comment). */
export function canonicalManifest(m: BatchManifest): Uint8Array {
  const entries = m.entries.map(
    (e) =>
      `{"shareId":${s(e.shareId)},"tier":${s(e.tier)},"dataHash":${s(e.dataHash)},"nonce":${s(e.nonce)},"timestamp":${e.timestamp},"sealedHash":${s(e.sealedHash)}}`
  )
  return utf8.encode(
    `{"v":1,"kind":${s(BATCH_MANIFEST_KIND)},"batchId":${s(m.batchId)},"sender":${s(m.sender)},"recipient":${s(m.recipient)},"senderKeyId":${s(m.senderKeyId)},"recipientKeyId":${s(m.recipientKeyId)},"wrappedKey":${s(m.wrappedKey)},"keys":${s(m.keys)},"entries":[${entries.join(',')}]}`
  )
}

/**
 * Reads manifest bytes strictly: every field in its form, at most `maxEntries` entries, no share id
 * twice, and the bytes exactly the canonical encoding (so the signature covers what was parsed).
 */
export function parseManifest(bytes: Uint8Array, maxEntries: number): BatchManifest {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new InvalidBatchError('manifest is not UTF-8 JSON', { cause: err })
  }
  const m = fields(
    value,
    'batchId,entries,keys,kind,recipient,recipientKeyId,sender,senderKeyId,v,wrappedKey',
    'manifest'
  )
  if (m['v'] !== 1 || m['kind'] !== BATCH_MANIFEST_KIND) throw new InvalidBatchError('not a v1 manifest')
  text(m, 'batchId', HEX32, 'manifest')
  text(m, 'sender', PEER_ID_PATTERN, 'manifest')
  text(m, 'recipient', PEER_ID_PATTERN, 'manifest')
  text(m, 'senderKeyId', HEX64, 'manifest')
  text(m, 'recipientKeyId', HEX64, 'manifest')
  text(m, 'wrappedKey', BASE64, 'manifest')
  text(m, 'keys', BASE64, 'manifest')
  const entries = m['entries']
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > maxEntries)
    throw new InvalidBatchError(`a batch holds 1 to ${maxEntries} entries`)
  const seen = new Set<string>()
  for (const [i, raw] of entries.entries()) {
    const where = `entries[${i}]`
    const e = fields(raw, 'dataHash,nonce,sealedHash,shareId,tier,timestamp', where)
    text(e, 'shareId', SHARE_ID_PATTERN, where)
    if (!isTier(e['tier'])) throw new InvalidBatchError(`bad ${where}.tier`)
    text(e, 'dataHash', DATA_HASH_PATTERN, where)
    text(e, 'nonce', HEX32, where)
    uint(e, 'timestamp', where)
    text(e, 'sealedHash', HEX64, where)
    if (seen.has(e['shareId'] as string)) throw new InvalidBatchError(`${where} repeats a share id`)
    seen.add(e['shareId'] as string)
  }
  const manifest = m as unknown as BatchManifest
  const again = canonicalManifest(manifest)
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i]))
    throw new InvalidBatchError('manifest bytes are not in canonical form')
  return manifest
}

/** The receipt root's canonical bytes (module comment): what the recipient signs. */
export function canonicalReceiptRoot(r: ReceiptRootBody): Uint8Array {
  return utf8.encode(
    `{"v":1,"kind":${s(RECEIPT_ROOT_KIND)},"batchId":${s(r.batchId)},"sender":${s(r.sender)},"recipient":${s(r.recipient)},"treeSize":${r.treeSize},"root":${s(r.root)},"signedAt":${r.signedAt}}`
  )
}

/** Checks a batched receipt's proof part; throws InvalidBatchError naming the first bad field. */
export function validateBatchProof(value: unknown, where = 'batch'): ReceiptBatchProof {
  const p = fields(value, 'leafIndex,proof,root', where)
  uint(p, 'leafIndex', where)
  const proof = p['proof']
  if (!Array.isArray(proof) || proof.some((h) => typeof h !== 'string' || !HEX64.test(h)))
    throw new InvalidBatchError(`bad ${where}.proof`)
  const r = fields(p['root'], 'batchId,kind,recipient,root,sender,signedAt,treeSize,v', `${where}.root`)
  if (r['v'] !== 1 || r['kind'] !== RECEIPT_ROOT_KIND) throw new InvalidBatchError('not a v1 receipt root')
  text(r, 'batchId', HEX32, `${where}.root`)
  text(r, 'sender', PEER_ID_PATTERN, `${where}.root`)
  text(r, 'recipient', PEER_ID_PATTERN, `${where}.root`)
  uint(r, 'treeSize', `${where}.root`)
  text(r, 'root', HEX64, `${where}.root`)
  uint(r, 'signedAt', `${where}.root`)
  return p as unknown as ReceiptBatchProof
}

/** The receipt tree of one batch: its root (to sign) and each receipt's place under it. */
export interface ReceiptTree {
  readonly root: ReceiptRootBody
  /** One per body, in the order given. */
  readonly proofs: readonly ReceiptBatchProof[]
}

/** Builds the receipt root over `bodies` (at least one), all from `sender` to `recipient`. */
export function receiptTree(
  bodies: readonly ReceiptBody[],
  facts: {
    readonly batchId: string
    readonly sender: string
    readonly recipient: string
    readonly signedAt: number
  }
): ReceiptTree {
  const leaves = bodies.map((b) => receiptHash(b))
  const tree = merkleTree(leaves)
  const root: ReceiptRootBody = {
    v: 1,
    kind: RECEIPT_ROOT_KIND,
    batchId: facts.batchId,
    sender: facts.sender,
    recipient: facts.recipient,
    treeSize: leaves.length,
    root: Buffer.from(tree.root).toString('hex'),
    signedAt: facts.signedAt
  }
  const proofs = tree.proofs.map((path, leafIndex) => ({
    root,
    leafIndex,
    proof: path.map((h) => Buffer.from(h).toString('hex'))
  }))
  return { root, proofs }
}

/**
 * The bytes a receipt's signature covers: the canonical receipt for a receipt signed alone, the
 * canonical receipt root for a batched one.
 */
export function receiptSignedBytes(
  receipt: SignedReceipt,
  canonicalReceipt: (b: ReceiptBody) => Uint8Array
): Uint8Array {
  return receipt.batch ? canonicalReceiptRoot(receipt.batch.root) : canonicalReceipt(receipt.body)
}

/**
 * Whether a batched receipt sits under its root: the root names the receipt's sender and recipient,
 * and the inclusion proof takes the receipt's leaf to it. True for a receipt signed alone (nothing
 * to prove). The root's signature is checked apart, over `receiptSignedBytes`.
 */
export function receiptInRoot(receipt: SignedReceipt): boolean {
  const batch = receipt.batch
  if (!batch) return true
  const { root } = batch
  if (root.sender !== receipt.body.sender || root.recipient !== receipt.body.recipient) return false
  return verifyInclusion(
    receiptHash(receipt.body),
    batch.leafIndex,
    root.treeSize,
    batch.proof.map((h) => new Uint8Array(Buffer.from(h, 'hex'))),
    new Uint8Array(Buffer.from(root.root, 'hex'))
  )
}

/** What the batching rules need of a due share. */
export interface BatchCandidate {
  readonly shareId: string
  readonly recipient: string
  /** When it became due, Unix ms. */
  readonly nextAttemptMs: number | null
}

/** The batching settings (`p2p.batchMax`, `p2p.batchWindowMs`). */
export interface BatchSettings {
  /** Most shares in one batch; 1 turns batching off. */
  readonly max: number
  /** How long a share may wait, after it is due, for others to the same peer. */
  readonly windowMs: number
}

/** What to send now: groups (a group of one goes per-share) and when to look again for held ones. */
export interface BatchPlan<T> {
  readonly groups: readonly (readonly T[])[]
  /** Unix ms when the oldest held share's window ends; undefined when nothing is held. */
  readonly holdUntilMs: number | undefined
  /** Some shares wait for the answer to an attempt in flight to their recipient (`busy`). */
  readonly waitsForAnswer: boolean
}

/**
 * Groups due shares by recipient, in the order given, into batches of at most `max`. A full batch
 * goes at once; a smaller group goes when its oldest share has waited `windowMs` since it was due
 * (so under a burst shares travel together, and a lone share waits at most the window, then goes
 * per-share); a recipient in `perShare` (it does not speak the batch protocol) gets groups of one.
 * While a recipient has an attempt in flight (`busy`), its smaller groups wait for that attempt's
 * end, growing meanwhile, and are not counted in `holdUntilMs` (the attempt's end is the next look):
 * the batch size follows the load, one round trip's worth of shares, up to `max`, so the RSA
 * operations of a batch are spread over more shares as the rate rises while a lone share still
 * goes after the window.
 */
export function planBatches<T extends BatchCandidate>(
  due: readonly T[],
  settings: BatchSettings,
  nowMs: number,
  perShare: (recipient: string) => boolean = () => false,
  busy: (recipient: string) => boolean = () => false
): BatchPlan<T> {
  const byRecipient = new Map<string, T[]>()
  for (const share of due) {
    const list = byRecipient.get(share.recipient)
    if (list) list.push(share)
    else byRecipient.set(share.recipient, [share])
  }
  const groups: T[][] = []
  let holdUntilMs: number | undefined
  let waitsForAnswer = false
  for (const [recipient, shares] of byRecipient) {
    if (settings.max <= 1 || perShare(recipient)) {
      for (const share of shares) groups.push([share])
      continue
    }
    const inFlight = busy(recipient)
    for (let at = 0; at < shares.length; at += settings.max) {
      const group = shares.slice(at, at + settings.max)
      if (group.length === settings.max) {
        groups.push(group)
        continue
      }
      if (inFlight) {
        waitsForAnswer = true
        continue
      }
      const oldest = Math.min(...group.map((g) => g.nextAttemptMs ?? nowMs))
      const windowEnds = oldest + settings.windowMs
      if (windowEnds <= nowMs) groups.push(group)
      else holdUntilMs = Math.min(holdUntilMs ?? windowEnds, windowEnds)
    }
  }
  return { groups, holdUntilMs, waitsForAnswer }
}
