import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto'
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from './constants.ts'
import { type BytePieces, piecesOf } from './pieces.ts'

/**
 * AES-256-GCM for the content of envelopes and batch entries, without a copy of the payload: the
 * ciphertext stays the buffer node:crypto returns (a sealed envelope copies it once, into its own
 * layout), and the plaintext of an opened one is the decipher's output itself. In GCM `final()`
 * yields no bytes, so there is nothing to concatenate.
 *
 * Keys go to node:crypto as KeyObjects: given the key's bytes, createCipheriv makes one itself, and
 * for a share of 1 KiB that costs more than the cipher on it (secretKeyOf in fernet.ts).
 */

/** A sealed content: IV, ciphertext in pieces, tag. */
export interface GcmSealed {
  readonly iv: Buffer
  readonly ciphertext: BytePieces
  readonly tag: Buffer
}

/** Encrypts `plaintext` under `key` with a fresh random IV and `aad` as associated data. */
export function gcmSealPieces(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): GcmSealed {
  const iv = randomBytes(GCM_NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', createSecretKey(key), iv, { authTagLength: GCM_TAG_BYTES })
  cipher.setAAD(aad)
  const body = cipher.update(plaintext)
  const last = cipher.final()
  const ciphertext = last.length === 0 ? piecesOf(body) : piecesOf(body, last)
  return { iv, ciphertext, tag: cipher.getAuthTag() }
}

/** Decrypts and authenticates; throws OpenSSL's error when the tag does not match (callers translate it). */
export function gcmOpen(
  key: Uint8Array,
  aad: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array
): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', createSecretKey(key), iv, { authTagLength: GCM_TAG_BYTES })
  decipher.setAAD(aad)
  decipher.setAuthTag(tag)
  const out = decipher.update(ciphertext)
  const last = decipher.final()
  return last.length === 0 ? out : Buffer.concat([out, last])
}
