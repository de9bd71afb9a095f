/**
 * The audit events and their leaves. A receipt event's leaf is `receiptHash` of node/core/receipt.ts.
 * A share event's leaf is SHA-256 of its canonical share record, encoded like the receipt:
 *
 *   {"v":1,"kind":"share","shareId":"<32 hex>","dataHash":"<64 hex>","sender":"<PeerId>",
 *    "recipient":"<PeerId>","tier":"standard|high|maximum","timestamp":<Unix ms>}
 *
 * (UTF-8, keys in this order, no whitespace). PeerIds go on chain as SHA-256 of their UTF-8 text.
 */
import { createHash } from 'node:crypto'
import type { ShareRecordEvent } from '../core/audit-events.ts'
import { type ReceiptBody, receiptHash, validateReceiptBody } from '../core/receipt.ts'
import { DATA_HASH_PATTERN, isTier, PEER_ID_PATTERN, SHARE_ID_PATTERN } from '../core/share.ts'
import { InvalidAuditEventError } from './errors.ts'

/** A share as the sender queued it: the core's share record event, without its kind. */
export type ShareEvent = Omit<ShareRecordEvent, 'kind'>

export function validateShareEvent(value: ShareEvent): ShareEvent {
  const bad = (field: string) => new InvalidAuditEventError(`share event: bad ${field}`)
  if (!SHARE_ID_PATTERN.test(value.shareId)) throw bad('shareId')
  if (!DATA_HASH_PATTERN.test(value.dataHash)) throw bad('dataHash')
  if (!PEER_ID_PATTERN.test(value.sender)) throw bad('sender')
  if (!PEER_ID_PATTERN.test(value.recipient)) throw bad('recipient')
  if (!isTier(value.tier)) throw bad('tier')
  if (!Number.isSafeInteger(value.timestamp) || value.timestamp < 0) throw bad('timestamp')
  return value
}

export function canonicalShareRecord(e: ShareEvent): string {
  const s = validateShareEvent(e)
  return `{"v":1,"kind":"share","shareId":${JSON.stringify(s.shareId)},"dataHash":${JSON.stringify(s.dataHash)},"sender":${JSON.stringify(s.sender)},"recipient":${JSON.stringify(s.recipient)},"tier":${JSON.stringify(s.tier)},"timestamp":${s.timestamp}}`
}

export const sha256Hex = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex')

/** Leaf (64 hex) of a share event. */
export const shareLeaf = (e: ShareEvent): string => sha256Hex(canonicalShareRecord(e))

/** Leaf (64 hex) of a receipt. */
export const receiptLeaf = (body: ReceiptBody): string => Buffer.from(receiptHash(body)).toString('hex')

/** What anyone hashes to put a PeerId on chain. */
export const peerIdHash = (peerId: string): string => sha256Hex(peerId)

/** Recomputes the leaf of an outbox payload (canonical JSON as stored). */
export function leafOfPayload(kind: string, payload: string): string {
  const parsed = JSON.parse(payload) as Record<string, unknown>
  if (kind === 'share') return shareLeaf(parsed as unknown as ShareEvent)
  // A stored payload enters here from the database: validated once, then hashed.
  if (kind === 'receipt') return receiptLeaf(validateReceiptBody(parsed['body']))
  throw new InvalidAuditEventError(`no leaf for ${kind} events`)
}
