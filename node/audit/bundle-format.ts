/**
 * The evidence bundle (docs/AUDIT.md, "The evidence bundle"): its types, its canonical text, and the
 * strict reading of a document that claims to be one. Nothing here touches a database or the chain,
 * so the standalone check (bundle-check.ts) and the node's builder (bundle.ts) share it.
 */
import { DmnError } from '../core/errors.ts'
import { canonicalReceiptRoot, validateBatchProof } from '../core/batch.ts'
import { canonicalReceipt, type SignedReceipt, validateReceiptBody } from '../core/receipt.ts'
import type { Tier } from '../core/share.ts'
import { validateShareEvent } from './leaves.ts'

export const BUNDLE_VERSION = 1
export const BUNDLE_KIND = 'dmn-evidence-bundle'

/** A contract log: the transaction, its block and the log's index in the block. */
export interface EventAnchor {
  readonly type: 'event'
  readonly txHash: string
  readonly blockNumber: number
  readonly blockHash: string
  readonly logIndex: number
}

/** A leaf under a `BatchAnchored` root, with its RFC 9162 inclusion proof. */
export interface BatchAnchor {
  readonly type: 'batch'
  readonly txHash: string
  readonly blockNumber: number
  readonly blockHash: string
  readonly logIndex: number
  /** 64 hex. */
  readonly root: string
  readonly leafIndex: number
  readonly treeSize: number
  /** Audit path, bottom up, 64 hex each. */
  readonly proof: readonly string[]
}

export type Anchor = EventAnchor | BatchAnchor

export interface BundleChain {
  readonly chainId: number
  /** 0x + 40 hex, lower case. */
  readonly contract: string
  /** Hash of block 0, 0x + 64 hex. */
  readonly genesisHash: string
}

export interface BundleIdentity {
  /** The published identity record, exactly as registered. */
  readonly record: string
  readonly anchor: EventAnchor
}

/** The share record whose SHA-256 is the share's leaf (docs/AUDIT.md, "Leaves"). */
export interface BundleShareRecord {
  readonly shareId: string
  readonly dataHash: string
  readonly sender: string
  readonly recipient: string
  readonly tier: Tier
  readonly timestamp: number
}

export interface BundleShare {
  readonly share: BundleShareRecord
  readonly shareAnchor: Anchor
  /** Signed alone, or (with `batch`) under the recipient's signed receipt root. */
  readonly receipt: SignedReceipt | null
  readonly receiptAnchor: Anchor | null
}

export interface EvidenceBundle {
  readonly v: typeof BUNDLE_VERSION
  readonly kind: typeof BUNDLE_KIND
  readonly dataHash: string
  readonly chain: BundleChain
  readonly identities: readonly BundleIdentity[]
  readonly shares: readonly BundleShare[]
}

/** A document that is not a bundle in exactly the documented form. */
export class MalformedBundleError extends DmnError {
  override name = 'MalformedBundleError'
}

const HEX64 = /^[0-9a-f]{64}$/
const TX_HASH = /^0x[0-9a-f]{64}$/
const ADDRESS = /^0x[0-9a-f]{40}$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

type Obj = Record<string, unknown>

function fields(value: unknown, keys: readonly string[], where: string): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new MalformedBundleError(`${where} must be an object`)
  const got = Object.keys(value).sort().join(',')
  if (got !== [...keys].sort().join(',')) throw new MalformedBundleError(`${where} has fields ${got}`)
  return value as Obj
}

function uint(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new MalformedBundleError(`${where} must be a non-negative integer`)
  return value
}

function match(value: unknown, pattern: RegExp, where: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new MalformedBundleError(`bad ${where}`)
  return value
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedBundleError(`${where} must be an array`)
  return value
}

const ANCHOR_KEYS = ['type', 'txHash', 'blockNumber', 'blockHash', 'logIndex'] as const
const BATCH_KEYS = [...ANCHOR_KEYS, 'root', 'leafIndex', 'treeSize', 'proof'] as const

function eventAnchor(value: unknown, where: string): EventAnchor {
  const a = fields(value, ANCHOR_KEYS, where)
  if (a['type'] !== 'event') throw new MalformedBundleError(`${where} must be an event anchor`)
  match(a['txHash'], TX_HASH, `${where}.txHash`)
  uint(a['blockNumber'], `${where}.blockNumber`)
  match(a['blockHash'], TX_HASH, `${where}.blockHash`)
  uint(a['logIndex'], `${where}.logIndex`)
  return a as unknown as EventAnchor
}

function anchor(value: unknown, where: string): Anchor {
  if (value !== null && typeof value === 'object' && (value as Obj)['type'] === 'batch') {
    const a = fields(value, BATCH_KEYS, where)
    match(a['txHash'], TX_HASH, `${where}.txHash`)
    uint(a['blockNumber'], `${where}.blockNumber`)
    match(a['blockHash'], TX_HASH, `${where}.blockHash`)
    uint(a['logIndex'], `${where}.logIndex`)
    match(a['root'], HEX64, `${where}.root`)
    uint(a['leafIndex'], `${where}.leafIndex`)
    uint(a['treeSize'], `${where}.treeSize`)
    for (const [i, p] of array(a['proof'], `${where}.proof`).entries())
      match(p, HEX64, `${where}.proof[${i}]`)
    return a as unknown as BatchAnchor
  }
  return eventAnchor(value, where)
}

function shareEntry(value: unknown, where: string): BundleShare {
  const s = fields(value, ['share', 'shareAnchor', 'receipt', 'receiptAnchor'], where)
  const record = fields(
    s['share'],
    ['shareId', 'dataHash', 'sender', 'recipient', 'tier', 'timestamp'],
    where
  )
  try {
    validateShareEvent(record as unknown as BundleShareRecord)
  } catch (err) {
    throw new MalformedBundleError(`${where}.share: ${(err as Error).message}`)
  }
  anchor(s['shareAnchor'], `${where}.shareAnchor`)
  if (s['receipt'] !== null) {
    const batched = s['receipt'] !== null && typeof s['receipt'] === 'object' && 'batch' in s['receipt']
    const r = fields(
      s['receipt'],
      batched ? ['body', 'signature', 'batch'] : ['body', 'signature'],
      `${where}.receipt`
    )
    try {
      validateReceiptBody(r['body'])
      if (batched) validateBatchProof(r['batch'], `${where}.receipt.batch`)
    } catch (err) {
      throw new MalformedBundleError(`${where}.receipt: ${(err as Error).message}`)
    }
    match(r['signature'], BASE64, `${where}.receipt.signature`)
  }
  if (s['receiptAnchor'] !== null) anchor(s['receiptAnchor'], `${where}.receiptAnchor`)
  return s as unknown as BundleShare
}

/**
 * Reads one share entry of a bundle strictly (as `parseBundle` reads each): what a share's sender
 * answers over `/dmn/evidence/1.0.0` is such an entry. Throws MalformedBundleError.
 */
export function parseShareEntry(value: unknown): BundleShare {
  return shareEntry(value, 'entry')
}

/**
 * Reads a bundle strictly: exactly the documented fields, each of its type and form. Given text,
 * the text must also be the bundle's canonical form (optionally followed by one newline), so no
 * byte of a bundle can change without the check noticing. Throws MalformedBundleError.
 */
export function parseBundle(input: unknown): EvidenceBundle {
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch (err) {
      throw new MalformedBundleError(`not JSON: ${(err as Error).message}`)
    }
  }
  const b = fields(value, ['v', 'kind', 'dataHash', 'chain', 'identities', 'shares'], 'bundle')
  if (b['v'] !== BUNDLE_VERSION || b['kind'] !== BUNDLE_KIND)
    throw new MalformedBundleError('not a v1 bundle')
  match(b['dataHash'], HEX64, 'dataHash')
  const c = fields(b['chain'], ['chainId', 'contract', 'genesisHash'], 'chain')
  uint(c['chainId'], 'chain.chainId')
  match(c['contract'], ADDRESS, 'chain.contract')
  match(c['genesisHash'], TX_HASH, 'chain.genesisHash')
  for (const [i, id] of array(b['identities'], 'identities').entries()) {
    const entry = fields(id, ['record', 'anchor'], `identities[${i}]`)
    if (typeof entry['record'] !== 'string')
      throw new MalformedBundleError(`identities[${i}].record must be text`)
    eventAnchor(entry['anchor'], `identities[${i}].anchor`)
  }
  for (const [i, s] of array(b['shares'], 'shares').entries()) shareEntry(s, `shares[${i}]`)
  const bundle = b as unknown as EvidenceBundle
  if (typeof input === 'string') {
    const canonical = serializeBundle(bundle)
    if (input !== canonical && input !== `${canonical}\n`)
      throw new MalformedBundleError('bundle text is not in canonical form')
  }
  return bundle
}

function anchorText(a: Anchor): string {
  const s = JSON.stringify
  const head = `"type":${s(a.type)},"txHash":${s(a.txHash)},"blockNumber":${a.blockNumber},"blockHash":${s(a.blockHash)},"logIndex":${a.logIndex}`
  if (a.type === 'event') return `{${head}}`
  return `{${head},"root":${s(a.root)},"leafIndex":${a.leafIndex},"treeSize":${a.treeSize},"proof":${s(a.proof)}}`
}

function receiptText(r: SignedReceipt): string {
  const s = JSON.stringify
  const head = `"body":${new TextDecoder().decode(canonicalReceipt(r.body))},"signature":${s(r.signature)}`
  if (!r.batch) return `{${head}}`
  const root = new TextDecoder().decode(canonicalReceiptRoot(r.batch.root))
  return `{${head},"batch":{"root":${root},"leafIndex":${r.batch.leafIndex},"proof":${s(r.batch.proof)}}}`
}

/** The bundle's canonical text: keys in the documented order, no whitespace. */
export function serializeBundle(b: EvidenceBundle): string {
  const s = JSON.stringify
  const identities = b.identities.map((i) => `{"record":${s(i.record)},"anchor":${anchorText(i.anchor)}}`)
  const shares = b.shares.map((e) => {
    const r = e.share
    const share = `{"shareId":${s(r.shareId)},"dataHash":${s(r.dataHash)},"sender":${s(r.sender)},"recipient":${s(r.recipient)},"tier":${s(r.tier)},"timestamp":${r.timestamp}}`
    const receipt = e.receipt ? receiptText(e.receipt) : 'null'
    const receiptAnchor = e.receiptAnchor ? anchorText(e.receiptAnchor) : 'null'
    return `{"share":${share},"shareAnchor":${anchorText(e.shareAnchor)},"receipt":${receipt},"receiptAnchor":${receiptAnchor}}`
  })
  return `{"v":${b.v},"kind":${s(b.kind)},"dataHash":${s(b.dataHash)},"chain":{"chainId":${b.chain.chainId},"contract":${s(b.chain.contract)},"genesisHash":${s(b.chain.genesisHash)}},"identities":[${identities.join(',')}],"shares":[${shares.join(',')}]}`
}
