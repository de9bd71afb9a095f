import { constants, createPrivateKey, sign, verify } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  generateRsaKeyPair,
  keyFingerprint,
  oaepUnwrap,
  oaepWrap,
  publicKeyPemOf,
  type RsaKeyPairPem,
  signPss,
  verifyPss
} from './rsa.ts'

let alice: RsaKeyPairPem
let bob: RsaKeyPairPem
const data = new Uint8Array(Buffer.from('signed bytes'))

beforeAll(async () => {
  ;[alice, bob] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
})

describe('RSA-PSS', () => {
  it('verifies its own signatures and refuses other data, other keys and altered signatures', () => {
    const sig = signPss(alice.privateKeyPem, data)
    expect(sig.length).toBe(256)
    expect(verifyPss(alice.publicKeyPem, data, sig)).toBe(true)
    expect(verifyPss(alice.publicKeyPem, new Uint8Array(Buffer.from('other bytes')), sig)).toBe(false)
    expect(verifyPss(bob.publicKeyPem, data, sig)).toBe(false)
    const bad = Uint8Array.from(sig)
    bad[10] = (bad[10] as number) ^ 1
    expect(verifyPss(alice.publicKeyPem, data, bad)).toBe(false)
    expect(verifyPss(alice.publicKeyPem, data, sig.subarray(1))).toBe(false)
  })

  it('signs with the maximum salt length, and accepts digest-length salts but not others', () => {
    const key = createPrivateKey(alice.privateKeyPem)
    const withSalt = (saltLength: number) =>
      sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength })
    // 2048-bit: emLen 256, max salt 256 - 32 - 2 = 222.
    expect(verifyPss(alice.publicKeyPem, data, withSalt(222))).toBe(true)
    expect(verifyPss(alice.publicKeyPem, data, withSalt(32))).toBe(true)
    expect(verifyPss(alice.publicKeyPem, data, withSalt(20))).toBe(false)
    const ours = signPss(alice.privateKeyPem, data)
    const onlyMax = (saltLength: number) =>
      verify(
        'sha256',
        data,
        { key: alice.publicKeyPem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
        ours
      )
    expect(onlyMax(222)).toBe(true)
    expect(onlyMax(32)).toBe(false)
  })

  it('signs a message given in pieces as the same message in one buffer', () => {
    const pieces = [data.subarray(0, 3), new Uint8Array(0), data.subarray(3, 7), data.subarray(7)]
    const sig = signPss(alice.privateKeyPem, pieces)
    expect(verifyPss(alice.publicKeyPem, data, sig)).toBe(true)
    expect(verifyPss(alice.publicKeyPem, data.subarray(1), sig)).toBe(false)
    expect(verifyPss(alice.publicKeyPem, data, signPss(alice.privateKeyPem, pieces.slice(1)))).toBe(false)
  })

  it('refuses a key that is not an RSA PEM with InvalidKeyError', () => {
    expect(() => signPss('not a key', data)).toThrow(expect.objectContaining({ name: 'InvalidKeyError' }))
    expect(() => verifyPss('not a key', data, new Uint8Array(256))).toThrow(
      expect.objectContaining({ name: 'InvalidKeyError' })
    )
  })
})

describe('RSA-OAEP and fingerprints', () => {
  it('wraps and unwraps a content key, and another key cannot unwrap it', () => {
    const secret = new Uint8Array(32).fill(7)
    const wrapped = oaepWrap(bob.publicKeyPem, secret)
    expect(Buffer.from(oaepUnwrap(bob.privateKeyPem, wrapped))).toEqual(Buffer.from(secret))
    expect(() => oaepUnwrap(alice.privateKeyPem, wrapped)).toThrow()
  })

  it('fingerprints the SPKI DER, the same from a private key derived public key', () => {
    const fp = keyFingerprint(alice.publicKeyPem)
    expect(fp).toMatch(/^[0-9a-f]{64}$/)
    expect(keyFingerprint(publicKeyPemOf(alice.privateKeyPem))).toBe(fp)
    expect(keyFingerprint(bob.publicKeyPem)).not.toBe(fp)
  })
})
