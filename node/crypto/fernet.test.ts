import { createCipheriv, createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toUrlsafeBase64 } from './base64.ts'
import {
  fernetDecrypt,
  fernetDecryptAny,
  fernetDecryptBytes,
  fernetEncrypt,
  fernetEncryptBytes,
  fernetEncryptPieces,
  fernetRotate,
  fernetTimestamp,
  generateFernetKey
} from './fernet.ts'

// The Fernet spec's own vectors (github.com/fernet/spec generate.json / verify.json).
const SPEC = {
  secret: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
  token:
    'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  now: Date.parse('1985-10-26T01:20:00-07:00') / 1000,
  iv: Uint8Array.from({ length: 16 }, (_, i) => i),
  src: 'hello'
}
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8')
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'))

function mutate(token: string, at: number): string {
  const raw = Buffer.from(token, 'base64url')
  raw[at] = (raw[at] as number) ^ 0x01
  return toUrlsafeBase64(raw)
}

describe('fernet', () => {
  it('produces the spec token for the spec inputs', () => {
    expect(fernetEncrypt(SPEC.secret, bytes(SPEC.src), { now: SPEC.now, iv: SPEC.iv })).toBe(SPEC.token)
  })

  it('decrypts the spec token within its 60 s TTL', () => {
    expect(text(fernetDecrypt(SPEC.secret, SPEC.token, { ttlSeconds: 60, now: SPEC.now + 1 }))).toBe('hello')
  })

  it('round-trips empty, odd-sized and block-sized plaintexts', () => {
    const key = generateFernetKey()
    for (const size of [0, 1, 15, 16, 17, 1000]) {
      const plain = randomBytes(size)
      expect(Buffer.from(fernetDecrypt(key, fernetEncrypt(key, plain)))).toEqual(plain)
    }
  })

  it('refuses an altered token with FernetBadMacError', () => {
    const key = generateFernetKey()
    const token = fernetEncrypt(key, bytes('secret'))
    for (const at of [1, 9, 30, 60]) {
      expect(() => fernetDecrypt(key, mutate(token, at))).toThrow(
        expect.objectContaining({ name: 'FernetBadMacError' })
      )
    }
    expect(() => fernetDecrypt(generateFernetKey(), token)).toThrow(
      expect.objectContaining({ name: 'FernetBadMacError' })
    )
  })

  it('names each malformed token case distinctly', () => {
    const key = generateFernetKey()
    const token = fernetEncrypt(key, bytes('twenty bytes of text'))
    const err = (t: string) => {
      try {
        fernetDecrypt(key, t)
      } catch (e) {
        return (e as Error).name
      }
      return 'accepted'
    }
    expect(err(mutate(token, 0))).toBe('FernetBadVersionError')
    expect(err(toUrlsafeBase64(Buffer.from(token, 'base64url').subarray(0, 72)))).toBe(
      'FernetTruncatedTokenError'
    )
    expect(err(toUrlsafeBase64(Buffer.from(token, 'base64url').subarray(0, 80)))).toBe(
      'FernetTruncatedTokenError'
    )
    expect(err('')).toBe('FernetTruncatedTokenError')
    expect(err(`${token.slice(0, 10)}*${token.slice(11)}`)).toBe('FernetMalformedTokenError')
    expect(err(token.replace(/=+$/, ''))).toBe('FernetMalformedTokenError')
  })

  it('refuses expired and far-future tokens only under a TTL', () => {
    const key = generateFernetKey()
    const token = fernetEncrypt(key, bytes('x'), { now: 1_000_000 })
    expect(() => fernetDecrypt(key, token, { ttlSeconds: 10, now: 1_000_011 })).toThrow(
      expect.objectContaining({ name: 'FernetExpiredTokenError' })
    )
    expect(text(fernetDecrypt(key, token, { ttlSeconds: 10, now: 1_000_010 }))).toBe('x')
    expect(() => fernetDecrypt(key, token, { ttlSeconds: 10, now: 1_000_000 - 61 })).toThrow(
      expect.objectContaining({ name: 'FernetFutureTokenError' })
    )
    expect(text(fernetDecrypt(key, token, { now: 0 }))).toBe('x')
  })

  it('refuses keys that are not 32 bytes of url-safe base64', () => {
    for (const key of [
      '',
      'abc',
      toUrlsafeBase64(randomBytes(31)),
      toUrlsafeBase64(randomBytes(32)).replace('=', '')
    ]) {
      expect(() => fernetEncrypt(key, bytes('x'))).toThrow(
        expect.objectContaining({ name: 'FernetInvalidKeyError' })
      )
    }
  })

  it('decrypts with any of several keys and rotates to the first, keeping the timestamp', () => {
    const [oldKey, newKey] = [generateFernetKey(), generateFernetKey()]
    const token = fernetEncrypt(oldKey, bytes('rotate me'), { now: 1_700_000_000 })
    expect(text(fernetDecryptAny([newKey, oldKey], token))).toBe('rotate me')
    const rotated = fernetRotate([newKey, oldKey], token)
    expect(text(fernetDecrypt(newKey, rotated))).toBe('rotate me')
    expect(fernetTimestamp(newKey, rotated)).toBe(1_700_000_000)
    expect(() => fernetDecrypt(oldKey, rotated)).toThrow(
      expect.objectContaining({ name: 'FernetBadMacError' })
    )
    expect(() => fernetDecryptAny([generateFernetKey()], token)).toThrow(
      expect.objectContaining({ name: 'FernetBadMacError' })
    )
  })

  it('names an authentic token with broken padding FernetBadPaddingError', () => {
    const key = generateFernetKey()
    const raw = Buffer.from(key, 'base64url')
    // Authentic (encrypted and MACed with the key) but padded wrongly: no padding byte 0x00, a
    // padding byte above 16, padding bytes that disagree, padding longer than a block.
    const last = (block: number[]) => Buffer.from([...Buffer.alloc(16 - block.length), ...block])
    for (const plaintext of [
      Buffer.alloc(16),
      last([17]),
      last([3, 2, 3]),
      Buffer.concat([Buffer.alloc(16, 20), Buffer.alloc(16, 20)])
    ]) {
      const iv = randomBytes(16)
      const cipher = createCipheriv('aes-128-cbc', raw.subarray(16), iv).setAutoPadding(false)
      const body = Buffer.concat([
        Buffer.from([0x80]),
        Buffer.alloc(8),
        iv,
        cipher.update(plaintext),
        cipher.final()
      ])
      const token = toUrlsafeBase64(
        Buffer.concat([body, createHmac('sha256', raw.subarray(0, 16)).update(body).digest()])
      )
      expect(() => fernetDecrypt(key, token)).toThrow(
        expect.objectContaining({ name: 'FernetBadPaddingError' })
      )
    }
  })

  it('lays a token out from its pieces, and takes every padding length off again', () => {
    const key = generateFernetKey()
    for (let size = 0; size <= 48; size++) {
      const plain = randomBytes(size)
      const iv = randomBytes(16)
      const pieces = fernetEncryptPieces(key, plain, { now: 1_700_000_000, iv })
      const bytes = fernetEncryptBytes(key, plain, { now: 1_700_000_000, iv })
      expect(pieces.length).toBe(bytes.length)
      expect(Buffer.concat(pieces.pieces).equals(bytes)).toBe(true)
      expect(bytes.length).toBe(57 + 16 * (Math.floor(size / 16) + 1))
      expect(Buffer.from(fernetDecryptBytes(key, bytes)).equals(plain)).toBe(true)
      expect(fernetEncrypt(key, plain, { now: 1_700_000_000, iv })).toBe(toUrlsafeBase64(bytes))
    }
  })
})
