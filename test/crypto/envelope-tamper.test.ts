import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  generateRsaKeyPair,
  keyFingerprint,
  openEnvelope,
  ReplayGuard,
  type RsaKeyPairPem,
  sealEnvelope,
  signPss
} from '../../node/crypto/index.ts'
import type { Tier } from '../../node/core/share.ts'
import {
  appendSignature,
  decodeEnvelope,
  encodeHeader,
  encodeSignedPart
} from '../../node/crypto/envelope-codec.ts'
import { type Db, openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { NonceRepository } from '../../node/store/nonces.ts'

/**
 * Tamper tests: every byte of an envelope altered in turn must be refused with the error of the
 * region it lies in; envelopes re-signed after tampering (a faulty or hostile sender) must still be
 * refused by the header checks or the authenticated decryption; replays are refused across restarts.
 */

const SENDER = '12D3KooWTamperSender'
const RECIPIENT = '12D3KooWTamperRecipient'
let sender: RsaKeyPairPem
let recipient: RsaKeyPairPem
let dir: string

beforeAll(async () => {
  ;[sender, recipient] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
  dir = mkdtempSync(join(tmpdir(), 'dmn-tamper-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function seal(tier: Tier, plaintext: Uint8Array, timestamp?: number) {
  return sealEnvelope({
    header: {
      shareId: randomBytes(16).toString('hex'),
      sender: SENDER,
      recipient: RECIPIENT,
      tier,
      senderKeyId: keyFingerprint(sender.publicKeyPem),
      recipientKeyId: keyFingerprint(recipient.publicKeyPem),
      ...(timestamp === undefined ? {} : { timestamp })
    },
    plaintext,
    senderSigningPrivateKeyPem: sender.privateKeyPem,
    recipientEncryptionPublicKeyPem: recipient.publicKeyPem
  }).bytes
}

function open(bytes: Uint8Array, extra: { replayGuard?: ReplayGuard; now?: number } = {}) {
  return openEnvelope(bytes, {
    expectedRecipient: RECIPIENT,
    senderSigningPublicKeyPem: sender.publicKeyPem,
    recipientEncryptionPrivateKeyPem: recipient.privateKeyPem,
    ...extra
  })
}
function errorName(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return 'accepted'
}

/** Byte regions of an envelope with the error a low-bit flip there must cause. */
function regions(bytes: Uint8Array) {
  const p = decodeEnvelope(bytes)
  const h = 7
  const senderLenAt = h + 1 + 16 + 1 + 8 + 16 + 32 + 32
  const recipientLenAt = senderLenAt + 1 + p.header.sender.length
  const alnum = (c: number) => /^[A-Za-z0-9]$/.test(String.fromCharCode(c ^ 1))
  const wk = h + p.headerBytes.length
  const iv = wk + 2 + p.wrappedKey.length
  const ct = iv + 1 + p.iv.length
  const tag = ct + 4 + p.ciphertext.length
  const sig = tag + 1 + p.tag.length
  type Expect = string | ((byte: number) => string)
  const list: [string, number, number, Expect][] = [
    ['magic', 0, 4, 'EnvelopeMalformedError'],
    ['format version', 4, 5, 'EnvelopeMalformedError'],
    ['header length', 5, 7, 'EnvelopeMalformedError'],
    ['header v', h, h + 1, 'EnvelopeMalformedError'],
    ['shareId', h + 1, h + 17, 'EnvelopeSignatureError'],
    [
      'tier',
      h + 17,
      h + 18,
      (b) => ([1, 2, 3].includes(b ^ 1) ? 'EnvelopeSignatureError' : 'EnvelopeMalformedError')
    ],
    // The top timestamp byte set makes the value exceed 2^53 ms, which the decoder refuses.
    ['timestamp (top byte)', h + 18, h + 19, 'EnvelopeMalformedError'],
    ['timestamp', h + 19, h + 26, 'EnvelopeSignatureError'],
    ['nonce', h + 26, h + 42, 'EnvelopeSignatureError'],
    ['senderKeyId', h + 42, h + 74, 'EnvelopeSignatureError'],
    ['recipientKeyId', h + 74, h + 106, 'EnvelopeSignatureError'],
    ['sender length', senderLenAt, senderLenAt + 1, 'EnvelopeMalformedError'],
    [
      'sender',
      senderLenAt + 1,
      recipientLenAt,
      (b) => (alnum(b) ? 'EnvelopeSignatureError' : 'EnvelopeMalformedError')
    ],
    ['recipient length', recipientLenAt, recipientLenAt + 1, 'EnvelopeMalformedError'],
    [
      'recipient',
      recipientLenAt + 1,
      wk,
      (b) => (alnum(b) ? 'EnvelopeSignatureError' : 'EnvelopeMalformedError')
    ],
    ['wrapped key length', wk, wk + 2, 'EnvelopeMalformedError'],
    ['wrapped key', wk + 2, iv, 'EnvelopeSignatureError'],
    ['iv length', iv, iv + 1, 'EnvelopeMalformedError'],
    ['iv', iv + 1, ct, 'EnvelopeSignatureError'],
    ['ciphertext length', ct, ct + 4, 'EnvelopeMalformedError'],
    ['ciphertext', ct + 4, tag, 'EnvelopeSignatureError'],
    ['tag length', tag, tag + 1, 'EnvelopeMalformedError'],
    ['tag', tag + 1, sig, 'EnvelopeSignatureError'],
    ['signature length', sig, sig + 2, 'EnvelopeMalformedError'],
    ['signature', sig + 2, bytes.length, 'EnvelopeSignatureError']
  ]
  return list
}

describe('envelope tampering', () => {
  it.each(['standard', 'high'] as const)(
    'refuses every altered byte of a %s envelope with its region error',
    (tier) => {
      const bytes = seal(tier, randomBytes(100))
      expect(open(bytes).plaintext).toHaveLength(100)
      const list = regions(bytes)
      expect(list.at(-1)?.[2]).toBe(bytes.length)
      let covered = 0
      for (const [region, start, end, expected] of list) {
        for (let at = start; at < end; at++) {
          const copy = Uint8Array.from(bytes)
          copy[at] = (copy[at] as number) ^ 0x01
          const want = typeof expected === 'string' ? expected : expected(bytes[at] as number)
          expect(
            errorName(() => open(copy)),
            `${region} byte ${at - start}`
          ).toBe(want)
          covered++
        }
      }
      expect(covered).toBe(bytes.length)
    }
  )

  describe('re-signed after tampering (a faulty or hostile sender)', () => {
    function resign(
      bytes: Uint8Array,
      change: (p: ReturnType<typeof decodeEnvelope>) => Parameters<typeof encodeSignedPart>[0]
    ) {
      const signed = encodeSignedPart(change(decodeEnvelope(bytes)))
      return appendSignature(signed, signPss(sender.privateKeyPem, signed))
    }
    const flip = (b: Uint8Array, at = 0) => {
      const c = Uint8Array.from(b)
      c[at] = (c[at] as number) ^ 1
      return c
    }

    it('refuses an altered wrapped key, IV, ciphertext or tag as undecryptable', () => {
      for (const tier of ['standard', 'high', 'maximum'] as const) {
        const bytes = seal(tier, randomBytes(64))
        expect(
          errorName(() => open(resign(bytes, (p) => ({ ...p, wrappedKey: flip(p.wrappedKey, 5) }))))
        ).toBe('EnvelopeDecryptError')
        expect(
          errorName(() => open(resign(bytes, (p) => ({ ...p, ciphertext: flip(p.ciphertext, 40) }))))
        ).toBe('EnvelopeDecryptError')
        if (tier !== 'standard') {
          expect(errorName(() => open(resign(bytes, (p) => ({ ...p, iv: flip(p.iv) }))))).toBe(
            'EnvelopeDecryptError'
          )
          expect(errorName(() => open(resign(bytes, (p) => ({ ...p, tag: flip(p.tag) }))))).toBe(
            'EnvelopeDecryptError'
          )
        }
      }
    })

    it('refuses a changed tier through the GCM associated data', () => {
      const bytes = seal('maximum', randomBytes(64))
      const downgraded = resign(bytes, (p) => ({
        ...p,
        headerBytes: encodeHeader({ ...p.header, tier: 'high' })
      }))
      expect(errorName(() => open(downgraded))).toBe('EnvelopeDecryptError')
      const toStandard = resign(bytes, (p) => ({
        ...p,
        headerBytes: encodeHeader({ ...p.header, tier: 'standard' })
      }))
      expect(errorName(() => open(toStandard))).toBe('EnvelopeMalformedError')
    })

    it('refuses a changed recipient or key id by the header checks', () => {
      const bytes = seal('high', randomBytes(64))
      const reheader = (change: object) =>
        resign(bytes, (p) => ({ ...p, headerBytes: encodeHeader({ ...p.header, ...change }) }))
      expect(errorName(() => open(reheader({ recipient: '12D3KooWSomeoneElse' })))).toBe(
        'EnvelopeRecipientMismatchError'
      )
      expect(errorName(() => open(reheader({ recipientKeyId: 'ab'.repeat(32) })))).toBe(
        'EnvelopeKeyMismatchError'
      )
      expect(errorName(() => open(reheader({ senderKeyId: 'cd'.repeat(32) })))).toBe(
        'EnvelopeKeyMismatchError'
      )
    })
  })

  describe('replay', () => {
    let db: Db
    const dbPath = () => join(dir, 'node.db')

    it('refuses a replayed envelope, also after the database is reopened', () => {
      db = openDatabase(dbPath())
      migrate(db)
      const bytes = seal('standard', Buffer.from('once only'))
      expect(
        Buffer.from(
          open(bytes, { replayGuard: new ReplayGuard(new NonceRepository(db)) }).plaintext
        ).toString()
      ).toBe('once only')
      expect(errorName(() => open(bytes, { replayGuard: new ReplayGuard(new NonceRepository(db)) }))).toBe(
        'ReplayedNonceError'
      )
      db.close()
      db = openDatabase(dbPath())
      expect(errorName(() => open(bytes, { replayGuard: new ReplayGuard(new NonceRepository(db)) }))).toBe(
        'ReplayedNonceError'
      )
      db.close()
    })

    it('refuses an envelope outside the timestamp window, and checks it only after the signature', () => {
      db = openDatabase(dbPath())
      const guard = new ReplayGuard(new NonceRepository(db), { windowSeconds: 300 })
      const old = seal('high', Buffer.from('late'), Date.now() - 301_000)
      expect(errorName(() => open(old, { replayGuard: guard }))).toBe('StaleTimestampError')
      const bytes = seal('high', Buffer.from('forged'))
      const forged = Uint8Array.from(bytes)
      forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1
      expect(errorName(() => open(forged, { replayGuard: guard }))).toBe('EnvelopeSignatureError')
      // The forged copy did not burn the nonce: the genuine envelope still opens once.
      expect(Buffer.from(open(bytes, { replayGuard: guard }).plaintext).toString()).toBe('forged')
      db.close()
    })
  })
})
