import { createHash } from 'node:crypto'
import type { ReceiptBatchProof } from './batch.ts'
import { DmnError } from './errors.ts'
import { DATA_HASH_PATTERN, isTier, PEER_ID_PATTERN, SHARE_ID_PATTERN, type Tier } from './share.ts'

/**
 * The delivery receipt: what a recipient signs when it has stored a share, and what the audit trail
 * commits to. Its canonical encoding is fixed so that anyone holding a receipt can recompute its
 * hash (the audit leaf) byte for byte:
 *
 *   UTF-8 JSON of the receipt body, keys in this exact order, no whitespace:
 *   {"v":1,"shareId":"<32 hex>","dataHash":"<64 hex>","sender":"<PeerId>","recipient":"<PeerId>",
 *    "tier":"standard|high|maximum","receivedAt":<Unix ms, integer>}
 *
 *   receiptHash = SHA-256(canonical bytes), 32 bytes (0x-prefixed hex on chain).
 *
 * The recipient's RSA-PSS signature covers the same canonical bytes; it travels beside the body.
 */

export const RECEIPT_VERSION = 1

export interface ReceiptBody {
  readonly v: typeof RECEIPT_VERSION
  readonly shareId: string
  readonly dataHash: string
  /** PeerId of the sender. */
  readonly sender: string
  /** PeerId of the recipient, who signs the receipt. */
  readonly recipient: string
  readonly tier: Tier
  /** When the recipient committed the share, Unix milliseconds. */
  readonly receivedAt: number
}

export interface SignedReceipt {
  readonly body: ReceiptBody
  /**
   * Base64 RSA-PSS signature by the recipient's signing key over `canonicalReceipt(body)`, or, for a
   * share delivered in a batch, over the canonical receipt root that `batch` names (node/core/batch.ts).
   */
  readonly signature: string
  /** For a batched share: the signed receipt root, this receipt's leaf index and inclusion proof. */
  readonly batch?: ReceiptBatchProof
}

/** A receipt that does not follow the canonical form. */
export class InvalidReceiptError extends DmnError {
  override name = 'InvalidReceiptError'
}

/**
 * A validated body's canonical bytes and hash, computed at most once. Only bodies returned by
 * `validateReceiptBody` are keys: they are frozen, so what was validated and encoded cannot change.
 * A receipt is validated once where it enters (from the wire, or as the recipient builds it); its
 * signature check and its audit leaf then reuse the same bytes.
 */
const encodings = new WeakMap<ReceiptBody, { canonical?: Uint8Array; hash?: Uint8Array }>()

/**
 * Checks every field; throws InvalidReceiptError naming the first bad one. Returns a frozen copy
 * (fields in the order given) whose canonical bytes and hash are computed once, on first use.
 */
export function validateReceiptBody(value: unknown): ReceiptBody {
  if (value !== null && typeof value === 'object' && encodings.has(value as ReceiptBody)) {
    return value as ReceiptBody
  }
  const body = Object.freeze({ ...checkedFields(value) }) as ReceiptBody
  encodings.set(body, {})
  return body
}

function checkedFields(value: unknown): ReceiptBody {
  if (value === null || typeof value !== 'object') throw new InvalidReceiptError('receipt must be an object')
  const r = value as Record<string, unknown>
  const keys = Object.keys(r).sort().join(',')
  if (keys !== 'dataHash,receivedAt,recipient,sender,shareId,tier,v') {
    throw new InvalidReceiptError(`receipt has fields ${keys}`)
  }
  if (r['v'] !== RECEIPT_VERSION) throw new InvalidReceiptError('receipt version is not 1')
  if (typeof r['shareId'] !== 'string' || !SHARE_ID_PATTERN.test(r['shareId']))
    throw new InvalidReceiptError('bad shareId')
  if (typeof r['dataHash'] !== 'string' || !DATA_HASH_PATTERN.test(r['dataHash'])) {
    throw new InvalidReceiptError('bad dataHash')
  }
  for (const key of ['sender', 'recipient']) {
    if (typeof r[key] !== 'string' || !PEER_ID_PATTERN.test(r[key]))
      throw new InvalidReceiptError(`bad ${key}`)
  }
  if (!isTier(r['tier'])) throw new InvalidReceiptError('bad tier')
  if (typeof r['receivedAt'] !== 'number' || !Number.isSafeInteger(r['receivedAt']) || r['receivedAt'] < 0) {
    throw new InvalidReceiptError('bad receivedAt')
  }
  return r as unknown as ReceiptBody
}

/**
 * The canonical bytes of a receipt body (see the module comment). A body not yet validated is
 * validated first; a validated one is encoded once. The bytes are shared: do not modify them.
 */
export function canonicalReceipt(body: ReceiptBody): Uint8Array {
  const b = validateReceiptBody(body)
  const cached = encodings.get(b) as { canonical?: Uint8Array; hash?: Uint8Array }
  if (!cached.canonical) {
    const json = `{"v":${b.v},"shareId":${JSON.stringify(b.shareId)},"dataHash":${JSON.stringify(b.dataHash)},"sender":${JSON.stringify(b.sender)},"recipient":${JSON.stringify(b.recipient)},"tier":${JSON.stringify(b.tier)},"receivedAt":${b.receivedAt}}`
    cached.canonical = new TextEncoder().encode(json)
  }
  return cached.canonical
}

/** SHA-256 of the canonical receipt: the audit leaf. Computed once per validated body; do not modify. */
export function receiptHash(body: ReceiptBody): Uint8Array {
  const b = validateReceiptBody(body)
  const cached = encodings.get(b) as { canonical?: Uint8Array; hash?: Uint8Array }
  cached.hash ??= new Uint8Array(createHash('sha256').update(canonicalReceipt(b)).digest())
  return cached.hash
}

/** Parses canonical bytes back into a body; refuses anything that does not re-encode identically. */
export function parseCanonicalReceipt(bytes: Uint8Array): ReceiptBody {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new InvalidReceiptError('receipt is not UTF-8 JSON', { cause: err })
  }
  const body = validateReceiptBody(parsed)
  const again = canonicalReceipt(body)
  if (again.length !== bytes.length || again.some((byte, i) => byte !== bytes[i])) {
    throw new InvalidReceiptError('receipt bytes are not in canonical form')
  }
  return body
}

/** A signed receipt's own fields, nothing else a caller's object may carry (`batch` only when batched). */
export function bundleReceipt(r: SignedReceipt): SignedReceipt {
  return r.batch
    ? { body: r.body, signature: r.signature, batch: r.batch }
    : { body: r.body, signature: r.signature }
}
