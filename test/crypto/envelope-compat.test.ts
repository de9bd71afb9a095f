import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  generateRsaKeyPair,
  keyFingerprint,
  openEnvelope,
  type RsaKeyPairPem,
  sealEnvelope
} from '../../node/crypto/index.ts'
import { decodeEnvelope } from '../../node/crypto/envelope-codec.ts'

/**
 * Envelopes keep their format while the code that lays them out changes: those sealed by the
 * earlier encoder (which concatenated its parts, stored as a fixture with its test keys) still open,
 * and a new envelope is, byte for byte, what that encoder's layout gives for the same parts.
 */

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/sealed-envelopes.json', import.meta.url), 'utf8')
) as {
  sender: string
  recipient: string
  plaintext: string
  senderSigningPublicKeyPem: string
  recipientEncryptionPrivateKeyPem: string
  envelopes: Record<'standard' | 'high', string>
}

/** The earlier encoder's layout, written out independently with Buffer.concat. */
function concatLayout(p: ReturnType<typeof decodeEnvelope>): Buffer {
  const u = (bytes: number, value: number) => {
    const b = Buffer.alloc(bytes)
    b.writeUIntBE(value, 0, bytes)
    return b
  }
  return Buffer.concat([
    Buffer.from('DMNE', 'ascii'),
    Buffer.from([1]),
    u(2, p.headerBytes.length),
    p.headerBytes,
    u(2, p.wrappedKey.length),
    p.wrappedKey,
    u(1, p.iv.length),
    p.iv,
    u(4, p.ciphertext.length),
    p.ciphertext,
    u(1, p.tag.length),
    p.tag,
    u(2, p.signature.length),
    p.signature
  ])
}

let signing: RsaKeyPairPem
let encryption: RsaKeyPairPem

beforeAll(async () => {
  ;[signing, encryption] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
})

describe('envelope format across encoders', () => {
  it.each(['standard', 'high'] as const)('opens a %s envelope sealed by the earlier encoder', (tier) => {
    const opened = openEnvelope(Buffer.from(fixture.envelopes[tier], 'base64'), {
      senderSigningPublicKeyPem: fixture.senderSigningPublicKeyPem,
      recipientEncryptionPrivateKeyPem: fixture.recipientEncryptionPrivateKeyPem,
      expectedRecipient: fixture.recipient
    })
    expect(opened.header.tier).toBe(tier)
    expect(opened.header.sender).toBe(fixture.sender)
    expect(Buffer.from(opened.plaintext).toString('utf8')).toBe(fixture.plaintext)
  })

  it.each(['standard', 'high', 'maximum'] as const)(
    'lays a %s envelope out as the earlier encoder did, for sizes around the block size and 1 MiB',
    (tier) => {
      for (const size of [0, 15, 16, 17, 1024 * 1024]) {
        const { bytes } = sealEnvelope({
          header: {
            shareId: randomBytes(16).toString('hex'),
            sender: fixture.sender,
            recipient: fixture.recipient,
            tier,
            senderKeyId: keyFingerprint(signing.publicKeyPem),
            recipientKeyId: keyFingerprint(encryption.publicKeyPem)
          },
          plaintext: randomBytes(size),
          senderSigningPrivateKeyPem: signing.privateKeyPem,
          recipientEncryptionPublicKeyPem: encryption.publicKeyPem
        })
        expect(Buffer.from(bytes).equals(concatLayout(decodeEnvelope(bytes)))).toBe(true)
      }
    }
  )
})
