import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_ENVELOPE_BYTES } from './constants.ts'
import { openEnvelope, peekEnvelopeHeader, sealEnvelope } from './envelope.ts'
import type { Tier } from '../core/share.ts'
import { generateRsaKeyPair, keyFingerprint, type RsaKeyPairPem } from './rsa.ts'

let senderSigning: RsaKeyPairPem
let recipientEncryption: RsaKeyPairPem
let otherKey: RsaKeyPairPem
const SENDER = '12D3KooWSenderPeerIdAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const RECIPIENT = '12D3KooWRecipientPeerIdBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'

beforeAll(async () => {
  ;[senderSigning, recipientEncryption, otherKey] = await Promise.all([
    generateRsaKeyPair(2048),
    generateRsaKeyPair(2048),
    generateRsaKeyPair(2048)
  ])
})

function seal(tier: Tier, plaintext: Uint8Array, recipient = RECIPIENT) {
  return sealEnvelope({
    header: {
      shareId: randomBytes(16).toString('hex'),
      sender: SENDER,
      recipient,
      tier,
      senderKeyId: keyFingerprint(senderSigning.publicKeyPem),
      recipientKeyId: keyFingerprint(recipientEncryption.publicKeyPem)
    },
    plaintext,
    senderSigningPrivateKeyPem: senderSigning.privateKeyPem,
    recipientEncryptionPublicKeyPem: recipientEncryption.publicKeyPem
  })
}

const openOpts = () => ({
  senderSigningPublicKeyPem: senderSigning.publicKeyPem,
  recipientEncryptionPrivateKeyPem: recipientEncryption.privateKeyPem,
  expectedRecipient: RECIPIENT
})

describe('envelope', () => {
  it.each(['standard', 'high', 'maximum'] as const)('seals and opens a %s share, empty and 1 MiB', (tier) => {
    for (const size of [0, 1024 * 1024]) {
      const plaintext = randomBytes(size)
      const { bytes, header } = seal(tier, plaintext)
      expect(bytes.length).toBeLessThanOrEqual(MAX_ENVELOPE_BYTES)
      expect(peekEnvelopeHeader(bytes)).toEqual(header)
      const opened = openEnvelope(bytes, openOpts())
      expect(opened.header).toEqual(header)
      expect(Buffer.from(opened.plaintext).equals(plaintext)).toBe(true)
    }
  })

  it('uses a fresh content key and nonce per envelope', () => {
    const plaintext = new Uint8Array(64)
    const a = seal('high', plaintext)
    const b = seal('high', plaintext)
    expect(a.header.nonce).not.toBe(b.header.nonce)
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(false)
  })

  it('refuses an envelope for another recipient', () => {
    const { bytes } = seal('standard', new Uint8Array(8), '12D3KooWSomeoneElse')
    expect(() => openEnvelope(bytes, openOpts())).toThrow(
      expect.objectContaining({ name: 'EnvelopeRecipientMismatchError' })
    )
  })

  it('refuses when the signature is checked against another key', () => {
    const { bytes } = seal('high', new Uint8Array(8))
    expect(() =>
      openEnvelope(bytes, { ...openOpts(), senderSigningPublicKeyPem: otherKey.publicKeyPem })
    ).toThrow(expect.objectContaining({ name: 'EnvelopeSignatureError' }))
  })

  it('refuses when the recipient key id is not this node encryption key', () => {
    const { bytes } = seal('high', new Uint8Array(8))
    expect(() =>
      openEnvelope(bytes, { ...openOpts(), recipientEncryptionPrivateKeyPem: otherKey.privateKeyPem })
    ).toThrow(expect.objectContaining({ name: 'EnvelopeKeyMismatchError' }))
  })

  it('refuses oversized input before parsing it', () => {
    const big = new Uint8Array(MAX_ENVELOPE_BYTES + 1)
    expect(() => peekEnvelopeHeader(big)).toThrow(expect.objectContaining({ name: 'EnvelopeTooLargeError' }))
    const { bytes } = seal('standard', new Uint8Array(2000))
    expect(() => peekEnvelopeHeader(bytes, { maxBytes: 1000 })).toThrow(
      expect.objectContaining({ name: 'EnvelopeTooLargeError' })
    )
  })

  it('refuses garbage, truncation and trailing bytes as malformed', () => {
    const { bytes } = seal('standard', new Uint8Array(100))
    for (const bad of [
      new Uint8Array(0),
      randomBytes(300),
      bytes.subarray(0, bytes.length - 1),
      Buffer.concat([bytes, Buffer.from([0])])
    ]) {
      expect(() => peekEnvelopeHeader(bad)).toThrow(
        expect.objectContaining({ name: 'EnvelopeMalformedError' })
      )
    }
  })

  it('refuses to seal more than 1 MiB or a header with bad fields', () => {
    expect(() => seal('standard', new Uint8Array(1024 * 1024 + 1))).toThrow(
      expect.objectContaining({ name: 'EnvelopeTooLargeError' })
    )
    expect(() => seal('standard', new Uint8Array(1), 'not/a/peer')).toThrow(
      expect.objectContaining({ name: 'EnvelopeMalformedError' })
    )
  })
})
