import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

/**
 * Noise's own crypto (its `defaultCrypto`: node:crypto for large messages, WebAssembly below 1200
 * bytes), with the ChaCha20-Poly1305 key of a session prepared once. Noise seals every message of
 * at most 64 KiB on its own, so a 1 MiB envelope is 16 messages each way; given the key as bytes,
 * node:crypto turns it into a key object for every one of them, which costs several times the
 * cipher itself on such a message. A key object made once per session key does not. The bytes on
 * the wire, and the shapes handed back (pieces for pieces, one buffer for one buffer), are those of
 * `defaultCrypto`.
 */

const CHACHA = 'chacha20-poly1305'
const TAG_BYTES = 16
/** Below this many bytes `defaultCrypto` uses its WebAssembly cipher, which is faster there. */
const SMALL_MESSAGE_BYTES = 1200

// Keyed by the session's key buffer, which noise keeps for the session; the bytes are compared too,
// so a buffer reused for another key can never select a stale key object.
const keyObjects = new WeakMap<Uint8Array, { bytes: Buffer; key: KeyObject }>()

function keyObjectOf(k: Uint8Array): KeyObject {
  const cached = keyObjects.get(k)
  if (cached?.bytes.equals(k)) return cached.key
  const bytes = Buffer.from(k)
  const key = createSecretKey(bytes)
  keyObjects.set(k, { bytes, key })
  return key
}

export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
    if (plaintext.byteLength < SMALL_MESSAGE_BYTES) {
      return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    }
    const cipher = createCipheriv(CHACHA, keyObjectOf(k), nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    if (plaintext instanceof Uint8Array) {
      return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    }
    // An empty list of the caller's own kind, which takes the pieces without copying them.
    const output = plaintext.sublist(0, 0)
    for (const piece of plaintext) output.append(cipher.update(piece))
    const last = cipher.final()
    if (last.byteLength > 0) output.append(last)
    output.append(cipher.getAuthTag())
    return output
  },
  chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < SMALL_MESSAGE_BYTES) {
      return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    }
    const textLength = ciphertext.byteLength - TAG_BYTES
    const tag = ciphertext.subarray(textLength)
    const text =
      ciphertext instanceof Uint8Array
        ? ciphertext.subarray(0, textLength)
        : ciphertext.sublist(0, textLength)
    const decipher = createDecipheriv(CHACHA, keyObjectOf(k), nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(ad, { plaintextLength: textLength })
    decipher.setAuthTag(tag)
    if (text instanceof Uint8Array) {
      const out = decipher.update(text)
      const last = decipher.final()
      return last.byteLength === 0 ? out : Buffer.concat([out, last])
    }
    const output = text.sublist(0, 0)
    for (const piece of text) output.append(decipher.update(piece))
    const last = decipher.final()
    if (last.byteLength > 0) output.append(last)
    return output
  }
}
