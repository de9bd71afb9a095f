import { randomBytes } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { byteStream, streamPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import { noiseCrypto } from './noise-crypto.ts'

type NoiseBytes = Parameters<typeof noiseCrypto.chaCha20Poly1305Encrypt>[0]

/**
 * A real Uint8ArrayList of `bytes` in pieces of `piece` bytes, as libp2p hands data on (libp2p's own
 * copy of the package; noise's is another version, told apart at run time by the same symbol).
 */
async function listOf(bytes: Uint8Array, piece: number): Promise<NoiseBytes> {
  const [a, b] = await streamPair()
  for (let at = 0; at < bytes.length; at += piece) a.send(bytes.subarray(at, at + piece))
  return (await byteStream(b).read({ bytes: bytes.length })) as unknown as NoiseBytes
}

const flat = (data: Uint8Array | { subarray(): Uint8Array }) => Buffer.from(data.subarray())

describe('noise crypto', () => {
  it('seals and opens the bytes noise’s default crypto does, in one buffer and in pieces', async () => {
    const k = randomBytes(32)
    const ad = randomBytes(32)
    for (const size of [0, 100, 1199, 1200, 4096, 65_519]) {
      const nonce = randomBytes(12)
      const plaintext = randomBytes(size)
      const expected = flat(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
      expect(flat(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))).toEqual(expected)
      const pieces = await listOf(plaintext, 1000)
      expect(flat(noiseCrypto.chaCha20Poly1305Encrypt(pieces, nonce, ad, k))).toEqual(expected)
      expect(flat(noiseCrypto.chaCha20Poly1305Decrypt(expected, nonce, ad, k))).toEqual(plaintext)
      const sealedPieces = await listOf(expected, 777)
      expect(flat(noiseCrypto.chaCha20Poly1305Decrypt(sealedPieces, nonce, ad, k))).toEqual(plaintext)
    }
  })

  it('refuses a message altered in transit or sealed under another key', () => {
    const k = randomBytes(32)
    const nonce = randomBytes(12)
    const ad = randomBytes(32)
    const sealed = flat(noiseCrypto.chaCha20Poly1305Encrypt(randomBytes(4096), nonce, ad, k))
    const altered = Buffer.from(sealed)
    altered[100] = (altered[100] as number) ^ 1
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(altered, nonce, ad, k)).toThrow()
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, randomBytes(32))).toThrow()
  })

  it('uses the key a reused key buffer holds now, not the one it held before', () => {
    const k = randomBytes(32)
    const nonce = randomBytes(12)
    const ad = new Uint8Array(0)
    const plaintext = randomBytes(2048)
    const first = flat(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
    k.set(randomBytes(32))
    const second = flat(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
    expect(second).not.toEqual(first)
    expect(second).toEqual(flat(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)))
  })
})
