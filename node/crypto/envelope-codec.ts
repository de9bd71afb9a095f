import { TIER_ENVELOPE_CODE, type Tier, isTier, tierOfEnvelopeCode } from '../core/share.ts'
import { MAX_ENVELOPE_BYTES } from './constants.ts'
import { EnvelopeMalformedError, EnvelopeTooLargeError } from './errors.ts'
import { type BytePieces, joinPieces, piecesOf, writePieces } from './pieces.ts'

/**
 * The envelope's canonical binary encoding (format version 1). All integers big-endian; every
 * variable part is length-prefixed; nothing may follow the signature. One byte string has exactly
 * one meaning, so the signature covers exactly what is parsed.
 *
 *   "DMNE" | u8 version | u16 len header | u16 len wrappedKey | u8 len iv | u32 len ciphertext
 *   | u8 len tag | u16 len signature
 *
 * header: u8 v | shareId (16) | u8 tier | u64 timestamp ms | nonce (16) | senderKeyId (32)
 *   | recipientKeyId (32) | u8 len sender | u8 len recipient
 * The signature covers every byte before its own length prefix.
 */

export interface EnvelopeHeader {
  readonly v: 1
  /** 32 lowercase hex. */
  readonly shareId: string
  /** PeerId of the sender. */
  readonly sender: string
  /** PeerId of the recipient. */
  readonly recipient: string
  readonly tier: Tier
  /** Unix milliseconds. */
  readonly timestamp: number
  /** 32 lowercase hex (128 bits). */
  readonly nonce: string
  /** keyFingerprint of the sender's signing public key (64 hex). */
  readonly senderKeyId: string
  /** keyFingerprint of the recipient's encryption public key (64 hex). */
  readonly recipientKeyId: string
}

export interface EnvelopeParts {
  readonly header: EnvelopeHeader
  readonly headerBytes: Uint8Array
  readonly wrappedKey: Uint8Array
  readonly iv: Uint8Array
  readonly ciphertext: Uint8Array
  readonly tag: Uint8Array
  readonly signature: Uint8Array
  /** Everything the signature covers. */
  readonly signed: Uint8Array
}

export const ENVELOPE_MAGIC = Buffer.from('DMNE', 'ascii')
export const ENVELOPE_FORMAT_VERSION = 1
// The length-prefixed ASCII field's own check; that a PeerId is the authenticated peer's is the p2p layer's.
const PEER_ID = /^[A-Za-z0-9]{1,128}$/
const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`)
const HEX32 = HEX(32)
const HEX64 = HEX(64)

function invalid(message: string): never {
  throw new EnvelopeMalformedError(`malformed envelope: ${message}`)
}

/** Checks every header field; throws EnvelopeMalformedError naming the first bad one. */
export function validateHeader(h: EnvelopeHeader): void {
  if (h.v !== ENVELOPE_FORMAT_VERSION) invalid(`unknown format version ${String(h.v)}`)
  if (!HEX32.test(h.shareId)) invalid('shareId must be 32 lowercase hex')
  if (!HEX32.test(h.nonce)) invalid('nonce must be 32 lowercase hex')
  if (!HEX64.test(h.senderKeyId) || !HEX64.test(h.recipientKeyId)) invalid('key ids must be 64 lowercase hex')
  if (!PEER_ID.test(h.sender) || !PEER_ID.test(h.recipient)) invalid('sender and recipient must be PeerIds')
  if (!isTier(h.tier)) invalid(`unknown tier ${String(h.tier)}`)
  if (!Number.isSafeInteger(h.timestamp) || h.timestamp < 0) invalid('timestamp must be unix milliseconds')
}

export function encodeHeader(h: EnvelopeHeader): Buffer {
  validateHeader(h)
  const sender = Buffer.from(h.sender, 'ascii')
  const recipient = Buffer.from(h.recipient, 'ascii')
  const fixed = Buffer.alloc(1 + 16 + 1 + 8 + 16 + 32 + 32)
  let at = fixed.writeUInt8(h.v, 0)
  at += Buffer.from(h.shareId, 'hex').copy(fixed, at)
  at = fixed.writeUInt8(TIER_ENVELOPE_CODE[h.tier], at)
  at = fixed.writeBigUInt64BE(BigInt(h.timestamp), at)
  at += Buffer.from(h.nonce, 'hex').copy(fixed, at)
  at += Buffer.from(h.senderKeyId, 'hex').copy(fixed, at)
  Buffer.from(h.recipientKeyId, 'hex').copy(fixed, at)
  return Buffer.concat([
    fixed,
    Buffer.from([sender.length]),
    sender,
    Buffer.from([recipient.length]),
    recipient
  ])
}

class Reader {
  at = 0
  readonly buf: Buffer
  constructor(buf: Buffer) {
    this.buf = buf
  }
  need(n: number, what: string): void {
    if (this.at + n > this.buf.length) invalid(`truncated in ${what}`)
  }
  u8(what: string): number {
    this.need(1, what)
    return this.buf.readUInt8(this.at++)
  }
  u16(what: string): number {
    this.need(2, what)
    const v = this.buf.readUInt16BE(this.at)
    this.at += 2
    return v
  }
  u32(what: string): number {
    this.need(4, what)
    const v = this.buf.readUInt32BE(this.at)
    this.at += 4
    return v
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what)
    const out = this.buf.subarray(this.at, this.at + n)
    this.at += n
    return out
  }
}

export function decodeHeader(bytes: Uint8Array): EnvelopeHeader {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
  const v = r.u8('header version')
  const shareId = r.bytes(16, 'shareId').toString('hex')
  const tierCode = r.u8('tier')
  const timestamp = r.bytes(8, 'timestamp').readBigUInt64BE(0)
  const nonce = r.bytes(16, 'nonce').toString('hex')
  const senderKeyId = r.bytes(32, 'senderKeyId').toString('hex')
  const recipientKeyId = r.bytes(32, 'recipientKeyId').toString('hex')
  const sender = r.bytes(r.u8('sender length'), 'sender').toString('latin1')
  const recipient = r.bytes(r.u8('recipient length'), 'recipient').toString('latin1')
  if (r.at !== bytes.length) invalid('bytes after the header fields')
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) invalid('timestamp out of range')
  const tier = tierOfEnvelopeCode(tierCode)
  if (tier === undefined) invalid(`unknown tier code ${tierCode}`)
  const header = {
    v,
    shareId,
    sender,
    recipient,
    tier,
    timestamp: Number(timestamp),
    nonce,
    senderKeyId,
    recipientKeyId
  } as EnvelopeHeader
  validateHeader(header)
  return header
}

/** The signed part's fields, with the ciphertext in pieces (pieces.ts) as the content cipher returns it. */
export interface EnvelopeBody {
  readonly headerBytes: Uint8Array
  readonly wrappedKey: Uint8Array
  readonly iv: Uint8Array
  readonly ciphertext: BytePieces
  readonly tag: Uint8Array
}

/**
 * Everything the signature covers, in canonical form, as pieces: the fields before the ciphertext
 * in one small buffer, the ciphertext's own pieces, then the tag's length and the tag.
 */
export function signedPieces(p: EnvelopeBody): BytePieces {
  const head = Buffer.allocUnsafe(
    ENVELOPE_MAGIC.length + 1 + 2 + p.headerBytes.length + 2 + p.wrappedKey.length + 1 + p.iv.length + 4
  )
  let at = ENVELOPE_MAGIC.copy(head, 0)
  at = head.writeUInt8(ENVELOPE_FORMAT_VERSION, at)
  at = head.writeUInt16BE(p.headerBytes.length, at)
  head.set(p.headerBytes, at)
  at = head.writeUInt16BE(p.wrappedKey.length, at + p.headerBytes.length)
  head.set(p.wrappedKey, at)
  at = head.writeUInt8(p.iv.length, at + p.wrappedKey.length)
  head.set(p.iv, at)
  head.writeUInt32BE(p.ciphertext.length, at + p.iv.length)
  const tail = Buffer.allocUnsafe(1 + p.tag.length)
  tail.writeUInt8(p.tag.length, 0)
  tail.set(p.tag, 1)
  return piecesOf(head, ...p.ciphertext.pieces, tail)
}

/** The envelope: the signed part's pieces and the signature, laid out in one buffer (one copy of each piece). */
export function joinEnvelope(signed: BytePieces, signature: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(signed.length + 2 + signature.length)
  const at = out.writeUInt16BE(signature.length, writePieces(out, 0, signed.pieces))
  out.set(signature, at)
  return out
}

/**
 * The envelope laid out before its signature of `signatureLength` bytes is made: `signed` is the
 * part the signature covers, where it lies in the envelope (for a signer that takes one buffer),
 * and `withSignature` writes the signature behind it and returns the whole envelope.
 */
export function layoutEnvelope(
  signed: BytePieces,
  signatureLength: number
): { readonly signed: Buffer; withSignature(signature: Uint8Array): Buffer } {
  const out = Buffer.allocUnsafe(signed.length + 2 + signatureLength)
  const at = out.writeUInt16BE(signatureLength, writePieces(out, 0, signed.pieces))
  return {
    signed: out.subarray(0, signed.length),
    withSignature(signature) {
      if (signature.length !== signatureLength) {
        throw new RangeError(`signature of ${signature.length} bytes where ${signatureLength} were laid out`)
      }
      out.set(signature, at)
      return out
    }
  }
}

/** Everything the signature covers, in canonical form, in one buffer. */
export function encodeSignedPart(p: Omit<EnvelopeParts, 'signature' | 'signed' | 'header'>): Buffer {
  return joinPieces(signedPieces({ ...p, ciphertext: piecesOf(p.ciphertext) }))
}

export function appendSignature(signed: Uint8Array, signature: Uint8Array): Buffer {
  return joinEnvelope(piecesOf(signed), signature)
}

/** Parses an envelope after checking its size; nothing is verified here. */
export function decodeEnvelope(bytes: Uint8Array, maxBytes = MAX_ENVELOPE_BYTES): EnvelopeParts {
  if (!(bytes instanceof Uint8Array)) invalid('not bytes')
  if (bytes.length > maxBytes) {
    throw new EnvelopeTooLargeError(`envelope of ${bytes.length} bytes exceeds the limit of ${maxBytes}`)
  }
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
  if (!r.bytes(4, 'magic').equals(ENVELOPE_MAGIC)) invalid('not an envelope (bad magic)')
  const version = r.u8('format version')
  if (version !== ENVELOPE_FORMAT_VERSION) invalid(`unknown format version ${version}`)
  const headerBytes = r.bytes(r.u16('header length'), 'header')
  const wrappedKey = r.bytes(r.u16('wrapped key length'), 'wrapped key')
  const iv = r.bytes(r.u8('iv length'), 'iv')
  const ciphertext = r.bytes(r.u32('ciphertext length'), 'ciphertext')
  const tag = r.bytes(r.u8('tag length'), 'tag')
  const signedEnd = r.at
  const signature = r.bytes(r.u16('signature length'), 'signature')
  if (r.at !== bytes.length) invalid('bytes after the signature')
  const header = decodeHeader(headerBytes)
  if (header.v !== version) invalid('header version differs from the format version')
  return {
    header,
    headerBytes,
    wrappedKey,
    iv,
    ciphertext,
    tag,
    signature,
    signed: r.buf.subarray(0, signedEnd)
  }
}
