import { createHash, randomBytes } from 'node:crypto'
import {
  BatchEntryTamperedError,
  type BatchEntry,
  type BatchManifest,
  BATCH_MANIFEST_KIND,
  canonicalManifest,
  parseManifest
} from '../core/batch.ts'
import type { BatchShareInput } from '../core/batch-ports.ts'
import { MAX_DATA_BYTES } from '../core/share.ts'
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from './constants.ts'
import {
  EnvelopeDecryptError,
  EnvelopeKeyMismatchError,
  EnvelopeMalformedError,
  EnvelopeRecipientMismatchError,
  EnvelopeSignatureError,
  EnvelopeTooLargeError
} from './errors.ts'
import { gcmOpen, gcmSealPieces } from './content-cipher.ts'
import { fernetDecryptBytes, fernetEncryptPieces } from './fernet.ts'
import { type BytePieces, writePieces } from './pieces.ts'
import type { ReplayGuard } from './replay-guard.ts'
import { oaepUnwrap, oaepWrap, signPssAsync, verifyPss } from './rsa.ts'

/**
 * The batch envelope (README "Batched delivery"): one fresh 32-byte batch key wrapped once with
 * RSA-OAEP-SHA256 to the recipient, and one RSA-PSS signature by the sender over the canonical
 * manifest (node/core/batch.ts). Each share still gets its own fresh content key (the manifest's
 * `keys`: all of them, in entry order, wrapped with the batch key in one AES-256-GCM operation whose
 * associated data is the batch id) and its own ciphertext: Fernet for `standard`, AES-256-GCM for
 * `high`/`maximum` (the entry's binding, batch id, share id, tier, nonce and timestamp, as
 * associated data), as in a share's own envelope. The manifest names the SHA-256 of each sealed
 * part, so a part changed in transit fails alone.
 *
 *   manifest frame: "DMNB" | u8 version | u32 len manifest | manifest | u16 len signature | signature
 *   sealed part:    u8 len iv | iv | u32 len ciphertext | ciphertext | u8 len tag | tag
 *
 * Keys are zeroed once used, best effort (see envelope.ts).
 */

const MAGIC = Buffer.from('DMNB', 'ascii')
const EMPTY = Buffer.alloc(0)
const VERSION = 1

export interface SealBatchInput {
  readonly sender: string
  readonly recipient: string
  readonly senderKeyId: string
  readonly recipientKeyId: string
  readonly shares: readonly BatchShareInput[]
  readonly senderSigningPrivateKeyPem: string
  readonly recipientEncryptionPublicKeyPem: string
  /** Unix ms for every entry's timestamp; now unless given. */
  readonly now?: number
}

/** A sealed batch: the manifest frame, then one sealed part per share, in the manifest's order. */
export interface SealedBatch {
  readonly manifest: BatchManifest
  readonly manifestFrame: Uint8Array
  readonly parts: readonly Uint8Array[]
}

function entryBinding(batchId: string, e: Pick<BatchEntry, 'shareId' | 'tier' | 'nonce' | 'timestamp'>) {
  return Buffer.from(`${batchId}:${e.shareId}:${e.tier}:${e.nonce}:${e.timestamp}`, 'ascii')
}

/** A sealed part laid out in one buffer: the ciphertext's pieces copied in once. */
function sealedPart(iv: Uint8Array, ciphertext: BytePieces, tag: Uint8Array): Buffer {
  const part = Buffer.allocUnsafe(1 + iv.length + 4 + ciphertext.length + 1 + tag.length)
  let at = part.writeUInt8(iv.length, 0)
  part.set(iv, at)
  at = part.writeUInt32BE(ciphertext.length, at + iv.length)
  at = part.writeUInt8(tag.length, writePieces(part, at, ciphertext.pieces))
  part.set(tag, at)
  return part
}

function u(bytes: number, value: number): Buffer {
  const b = Buffer.alloc(bytes)
  b.writeUIntBE(value, 0, bytes)
  return b
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/**
 * Seals shares (all for one recipient) into one batch: one key wrap, one signature, the signature
 * made on libuv's thread pool while the event loop goes on.
 */
export async function sealBatch(input: SealBatchInput): Promise<SealedBatch> {
  const unsigned = unsignedBatch(input)
  return withSignature(unsigned, await signPssAsync(input.senderSigningPrivateKeyPem, unsigned.manifestBytes))
}

interface UnsignedBatch {
  readonly manifest: BatchManifest
  readonly manifestBytes: Uint8Array
  readonly parts: readonly Uint8Array[]
}

function withSignature(batch: UnsignedBatch, signature: Uint8Array): SealedBatch {
  const manifestFrame = Buffer.concat([
    MAGIC,
    u(1, VERSION),
    u(4, batch.manifestBytes.length),
    batch.manifestBytes,
    u(2, signature.length),
    signature
  ])
  return { manifest: batch.manifest, manifestFrame, parts: batch.parts }
}

/** The batch's entries sealed and its manifest laid out: everything but the signature. */
function unsignedBatch(input: SealBatchInput): UnsignedBatch {
  const n = input.shares.length
  const timestamp = input.now ?? Date.now()
  // One draw for the batch: its id, its key, and each share's nonce and content key.
  const pool = randomBytes(16 + 32 + n * (16 + 32))
  const batchId = pool.subarray(0, 16).toString('hex')
  const batchKey = pool.subarray(16, 48)
  const contentKeys = pool.subarray(48 + n * 16)
  try {
    const entries: BatchEntry[] = []
    const parts: Uint8Array[] = []
    for (const [i, share] of input.shares.entries()) {
      if (share.plaintext.length > MAX_DATA_BYTES)
        throw new EnvelopeTooLargeError(
          `plaintext of ${share.plaintext.length} bytes exceeds ${MAX_DATA_BYTES}`
        )
      const nonce = pool.subarray(48 + i * 16, 64 + i * 16).toString('hex')
      const facts = { shareId: share.shareId, tier: share.tier, nonce, timestamp }
      const contentKey = contentKeys.subarray(i * 32, i * 32 + 32)
      const body =
        share.tier === 'standard'
          ? {
              iv: EMPTY,
              ciphertext: fernetEncryptPieces(
                { signing: contentKey.subarray(0, 16), encryption: contentKey.subarray(16) },
                share.plaintext,
                { now: Math.floor(timestamp / 1000) }
              ),
              tag: EMPTY
            }
          : gcmSealPieces(contentKey, entryBinding(batchId, facts), share.plaintext)
      const part = sealedPart(body.iv, body.ciphertext, body.tag)
      parts.push(part)
      entries.push({ ...facts, dataHash: share.dataHash, sealedHash: sha256Hex(part) })
    }
    const wrapped = gcmSealPieces(batchKey, Buffer.from(batchId, 'ascii'), contentKeys)
    const manifest: BatchManifest = {
      v: 1,
      kind: BATCH_MANIFEST_KIND,
      batchId,
      sender: input.sender,
      recipient: input.recipient,
      senderKeyId: input.senderKeyId,
      recipientKeyId: input.recipientKeyId,
      wrappedKey: Buffer.from(oaepWrap(input.recipientEncryptionPublicKeyPem, batchKey)).toString('base64'),
      keys: Buffer.concat([wrapped.iv, ...wrapped.ciphertext.pieces, wrapped.tag]).toString('base64'),
      entries
    }
    return { manifest, manifestBytes: canonicalManifest(manifest), parts }
  } finally {
    pool.fill(0)
  }
}

export interface OpenBatchOptions {
  readonly senderSigningPublicKeyPem: string
  /** keyFingerprint of the sender's signing key: the manifest must name it. */
  readonly senderKeyId: string
  readonly recipientEncryptionPrivateKeyPem: string
  /** keyFingerprint of this node's encryption key: the manifest must name it. */
  readonly recipientKeyId: string
  /** This node's PeerId. */
  readonly expectedRecipient: string
  readonly maxEntries: number
}

/** A batch whose manifest verified and whose key unwrapped; `dispose` zeroes the key. */
export interface OpenedBatch {
  readonly manifest: BatchManifest
  /**
   * Opens entry `index` from its sealed part: its hash against the manifest
   * (BatchEntryTamperedError), its nonce and timestamp against the replay guard, then its content
   * key and ciphertext (EnvelopeDecryptError). Throws for that entry only.
   */
  openEntry(index: number, part: Uint8Array, replay: { guard: ReplayGuard; now?: number }): Uint8Array
  dispose(): void
}

/**
 * Opens a manifest frame: structure, the sender's signature over the canonical manifest
 * (EnvelopeSignatureError), recipient (EnvelopeRecipientMismatchError), key ids
 * (EnvelopeKeyMismatchError), then the one RSA-OAEP unwrap of the batch key.
 */
export function openBatch(frame: Uint8Array, opts: OpenBatchOptions): OpenedBatch {
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.length)
  const need = (at: number, n: number) => {
    if (at + n > buf.length) throw new EnvelopeMalformedError('malformed batch: truncated')
  }
  need(0, 9)
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new EnvelopeMalformedError('not a batch (bad magic)')
  if (buf.readUInt8(4) !== VERSION) throw new EnvelopeMalformedError('unknown batch format version')
  const manifestLength = buf.readUInt32BE(5)
  need(9, manifestLength + 2)
  const manifestBytes = buf.subarray(9, 9 + manifestLength)
  const signatureLength = buf.readUInt16BE(9 + manifestLength)
  const signatureAt = 11 + manifestLength
  if (signatureAt + signatureLength !== buf.length)
    throw new EnvelopeMalformedError('malformed batch: bytes around the signature')
  const signature = buf.subarray(signatureAt)
  let manifest: BatchManifest
  try {
    manifest = parseManifest(manifestBytes, opts.maxEntries)
  } catch (err) {
    throw new EnvelopeMalformedError(`malformed batch: ${(err as Error).message}`, { cause: err })
  }
  if (!verifyPss(opts.senderSigningPublicKeyPem, manifestBytes, signature))
    throw new EnvelopeSignatureError('batch manifest signature does not verify with the sender key')
  if (manifest.recipient !== opts.expectedRecipient)
    throw new EnvelopeRecipientMismatchError('batch is addressed to another node')
  if (manifest.senderKeyId !== opts.senderKeyId)
    throw new EnvelopeKeyMismatchError('senderKeyId is not the fingerprint of the sender signing key')
  if (manifest.recipientKeyId !== opts.recipientKeyId)
    throw new EnvelopeKeyMismatchError('recipientKeyId is not the fingerprint of this node encryption key')
  let batchKey: Buffer
  try {
    batchKey = oaepUnwrap(opts.recipientEncryptionPrivateKeyPem, Buffer.from(manifest.wrappedKey, 'base64'))
  } catch (err) {
    throw new EnvelopeDecryptError('batch key does not unwrap with this node encryption key', { cause: err })
  }
  let contentKeys: Buffer
  try {
    if (batchKey.length !== 32) throw new EnvelopeDecryptError('batch key has the wrong length')
    const keys = Buffer.from(manifest.keys, 'base64')
    if (keys.length !== GCM_NONCE_BYTES + 32 * manifest.entries.length + GCM_TAG_BYTES)
      throw new EnvelopeMalformedError('malformed batch: the content keys do not fit the entries')
    contentKeys = gcmOpen(
      batchKey,
      Buffer.from(manifest.batchId, 'ascii'),
      keys.subarray(0, GCM_NONCE_BYTES),
      keys.subarray(GCM_NONCE_BYTES, keys.length - GCM_TAG_BYTES),
      keys.subarray(keys.length - GCM_TAG_BYTES)
    )
  } catch (err) {
    if (err instanceof EnvelopeMalformedError || err instanceof EnvelopeDecryptError) throw err
    throw new EnvelopeDecryptError('content keys do not unwrap with the batch key', { cause: err })
  } finally {
    batchKey.fill(0)
  }
  return {
    manifest,
    openEntry: (index, part, replay) => openEntry(manifest, contentKeys, index, part, replay),
    dispose: () => contentKeys.fill(0)
  }
}

function readPart(part: Uint8Array) {
  const buf = Buffer.from(part.buffer, part.byteOffset, part.length)
  let at = 0
  const take = (n: number) => {
    if (at + n > buf.length) throw new EnvelopeMalformedError('malformed batch entry: truncated')
    const out = buf.subarray(at, at + n)
    at += n
    return out
  }
  const len = (bytes: number) => take(bytes).readUIntBE(0, bytes)
  const iv = take(len(1))
  const ciphertext = take(len(4))
  const tag = take(len(1))
  if (at !== buf.length) throw new EnvelopeMalformedError('malformed batch entry: bytes after the tag')
  return { iv, ciphertext, tag }
}

function openEntry(
  manifest: BatchManifest,
  contentKeys: Buffer,
  index: number,
  part: Uint8Array,
  replay: { guard: ReplayGuard; now?: number }
): Uint8Array {
  const entry = manifest.entries[index]
  if (!entry) throw new EnvelopeMalformedError('no such batch entry')
  if (sha256Hex(part) !== entry.sealedHash)
    throw new BatchEntryTamperedError('batch entry is not the one the signed manifest names')
  const p = readPart(part)
  const gcm = entry.tier !== 'standard'
  if (
    gcm ? p.iv.length !== GCM_NONCE_BYTES || p.tag.length !== GCM_TAG_BYTES : p.iv.length + p.tag.length !== 0
  ) {
    throw new EnvelopeMalformedError(`malformed batch entry: lengths do not fit tier ${entry.tier}`)
  }
  // The nonce is spent only for an entry the signed manifest vouches for, as for a share's own envelope.
  replay.guard.check(manifest.sender, entry.nonce, entry.timestamp, replay.now)
  const contentKey = contentKeys.subarray(index * 32, index * 32 + 32)
  try {
    if (!gcm) {
      return fernetDecryptBytes(
        { signing: contentKey.subarray(0, 16), encryption: contentKey.subarray(16) },
        p.ciphertext
      )
    }
    const out = gcmOpen(contentKey, entryBinding(manifest.batchId, entry), p.iv, p.ciphertext, p.tag)
    return new Uint8Array(out.buffer, out.byteOffset, out.length)
  } catch (err) {
    throw new EnvelopeDecryptError('batch entry does not decrypt', { cause: err })
  }
}
