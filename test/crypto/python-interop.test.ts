import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  fernetDecrypt,
  fernetEncrypt,
  fernetRotate,
  fernetTimestamp,
  generateFernetKey,
  generateRsaKeyPair,
  keyFingerprint,
  oaepUnwrap,
  oaepWrap,
  openEnvelope,
  type RsaKeyPairPem,
  sealEnvelope,
  signPss,
  toUrlsafeBase64,
  verifyPss
} from '../../node/crypto/index.ts'
import {
  decodeEnvelope,
  encodeHeader,
  encodeSignedPart,
  appendSignature
} from '../../node/crypto/envelope-codec.ts'
import { b64, pyca, unb64 } from './pyca.ts'

/** Interop, both ways, with Debian's Python cryptography (an independent implementation). */

const SIZES = [0, 1, 15, 16, 17, 1000, 64 * 1024, 1024 * 1024]
const keys: Partial<Record<2048 | 3072 | 4096, RsaKeyPairPem>> = {}
let oaepKey: RsaKeyPairPem

beforeAll(async () => {
  const [k2048, k3072, k4096] = await Promise.all([
    generateRsaKeyPair(2048),
    generateRsaKeyPair(3072),
    generateRsaKeyPair(4096)
  ])
  Object.assign(keys, { 2048: k2048, 3072: k3072, 4096: k4096 })
  oaepKey = await generateRsaKeyPair(2048)
})

describe('Fernet interop with Python cryptography', () => {
  it('decrypts each other tokens of every size, empty to 1 MiB, under each other keys', () => {
    const ourKey = generateFernetKey()
    const plaintexts = SIZES.map((n) => randomBytes(n))
    const ourTokens = plaintexts.map((p) => fernetEncrypt(ourKey, p))
    const [pyKeyResult, ...rest] = pyca([
      { op: 'fernet_generate_key' },
      ...ourTokens.map((token) => ({ op: 'fernet_decrypt', key: ourKey, token })),
      ...plaintexts.map((p) => ({ op: 'fernet_encrypt', key: ourKey, plaintext: b64(p) }))
    ])
    const pyDecrypted = rest.slice(0, SIZES.length)
    const pyTokens = rest.slice(SIZES.length)
    pyDecrypted.forEach((r, i) => {
      expect(Buffer.from(unb64(r['plaintext'])).equals(plaintexts[i] as Buffer)).toBe(true)
    })
    pyTokens.forEach((r, i) => {
      expect(Buffer.from(fernetDecrypt(ourKey, String(r['token']))).equals(plaintexts[i] as Buffer)).toBe(
        true
      )
    })
    // A key made by Python works here as is.
    const pyKey = String(pyKeyResult?.['key'])
    const [fromPy] = pyca([{ op: 'fernet_encrypt', key: pyKey, plaintext: b64(Buffer.from('py key')) }])
    expect(Buffer.from(fernetDecrypt(pyKey, String(fromPy?.['token']))).toString()).toBe('py key')
  })

  it('writes the timestamp where Python reads it', () => {
    const key = generateFernetKey()
    const token = fernetEncrypt(key, Buffer.from('fixed'), { now: 499_162_800, iv: new Uint8Array(16) })
    const [r] = pyca([{ op: 'fernet_extract_timestamp', key, token }])
    expect(r?.['timestamp']).toBe(499_162_800)
  })

  it('rotates MultiFernet-style both ways, keeping the original timestamp', () => {
    const [oldKey, newKey] = [generateFernetKey(), generateFernetKey()]
    const ours = fernetEncrypt(oldKey, Buffer.from('ours'), { now: 1_600_000_000 })
    const [pyToken] = pyca([
      { op: 'fernet_encrypt', key: oldKey, plaintext: b64(Buffer.from('theirs')), now: 1_600_000_100 }
    ])
    const ourRotation = fernetRotate([newKey, oldKey], String(pyToken?.['token']))
    const [pyRotation, pyReadsOurs, ts] = pyca([
      { op: 'multifernet_rotate', keys: [newKey, oldKey], token: ours },
      { op: 'multifernet_decrypt', keys: [newKey], token: ourRotation },
      { op: 'fernet_extract_timestamp', key: newKey, token: ourRotation }
    ])
    expect(Buffer.from(unb64(pyReadsOurs?.['plaintext'])).toString()).toBe('theirs')
    expect(ts?.['timestamp']).toBe(1_600_000_100)
    const rotated = String(pyRotation?.['token'])
    expect(Buffer.from(fernetDecrypt(newKey, rotated)).toString()).toBe('ours')
    expect(fernetTimestamp(newKey, rotated)).toBe(1_600_000_000)
    expect(() => fernetDecrypt(oldKey, rotated)).toThrow(
      expect.objectContaining({ name: 'FernetBadMacError' })
    )
  })

  it('refuses every invalid token case, each here with its own error and in Python with InvalidToken', () => {
    const key = generateFernetKey()
    const now = 1_700_000_000
    const good = fernetEncrypt(key, Buffer.from('twenty bytes of text'), { now })
    const raw = Buffer.from(good, 'base64url')
    const flip = (at: number) => {
      const b = Buffer.from(raw)
      b[at] = (b[at] as number) ^ 0x01
      return toUrlsafeBase64(b)
    }
    const cases: { name: string; token: string; ttl?: number; now?: number }[] = [
      { name: 'FernetBadMacError', token: flip(raw.length - 1) },
      { name: 'FernetBadMacError', token: flip(30) },
      { name: 'FernetBadMacError', token: fernetEncrypt(generateFernetKey(), Buffer.from('other key')) },
      { name: 'FernetBadVersionError', token: flip(0) },
      { name: 'FernetTruncatedTokenError', token: toUrlsafeBase64(raw.subarray(0, 60)) },
      { name: 'FernetTruncatedTokenError', token: toUrlsafeBase64(raw.subarray(0, raw.length - 5)) },
      { name: 'FernetMalformedTokenError', token: `${good.slice(0, 20)}!${good.slice(21)}` },
      { name: 'FernetMalformedTokenError', token: good.slice(0, -1) },
      { name: 'FernetExpiredTokenError', token: good, ttl: 60, now: now + 61 },
      { name: 'FernetFutureTokenError', token: good, ttl: 60, now: now - 61 }
    ]
    const py = pyca(
      cases.map((c) => ({
        op: 'fernet_decrypt',
        key,
        token: c.token,
        ...(c.ttl === undefined ? {} : { ttl: c.ttl, now: c.now })
      }))
    )
    cases.forEach((c, i) => {
      expect(py[i]?.error, c.name).toBe('InvalidToken')
      expect(() =>
        fernetDecrypt(key, c.token, c.ttl === undefined ? {} : { ttlSeconds: c.ttl, now: c.now as number })
      ).toThrow(expect.objectContaining({ name: c.name }))
    })
    // The same time checks accept the token inside the window in both.
    const [ok] = pyca([{ op: 'fernet_decrypt', key, token: good, ttl: 60, now: now + 60 }])
    expect(ok?.error).toBeUndefined()
    expect(fernetDecrypt(key, good, { ttlSeconds: 60, now: now + 60 })).toHaveLength(20)
  })
})

describe('RSA interop with Python cryptography', () => {
  it.each([2048, 3072, 4096] as const)('verifies RSA-PSS signatures both ways at %i bits', (bits) => {
    const pair = keys[bits] as RsaKeyPairPem
    const data = randomBytes(300)
    const ours = signPss(pair.privateKeyPem, data)
    const [pyVerifiesMax, pyVerifiesDigest, pyMax, pyDigest, pySalt20] = pyca([
      {
        op: 'pss_verify',
        publicKeyPem: pair.publicKeyPem,
        data: b64(data),
        signature: b64(ours),
        salt: 'max'
      },
      {
        op: 'pss_verify',
        publicKeyPem: pair.publicKeyPem,
        data: b64(data),
        signature: b64(ours),
        salt: 'digest'
      },
      { op: 'pss_sign', privateKeyPem: pair.privateKeyPem, data: b64(data), salt: 'max' },
      { op: 'pss_sign', privateKeyPem: pair.privateKeyPem, data: b64(data), salt: 'digest' },
      { op: 'pss_sign', privateKeyPem: pair.privateKeyPem, data: b64(data), salt: '20' }
    ])
    expect(pyVerifiesMax?.['valid']).toBe(true)
    // Our signatures use the maximum salt, not the digest length.
    expect(pyVerifiesDigest?.['valid']).toBe(false)
    expect(verifyPss(pair.publicKeyPem, data, unb64(pyMax?.['signature']))).toBe(true)
    expect(verifyPss(pair.publicKeyPem, data, unb64(pyDigest?.['signature']))).toBe(true)
    expect(verifyPss(pair.publicKeyPem, data, unb64(pySalt20?.['signature']))).toBe(false)
    expect(verifyPss(pair.publicKeyPem, randomBytes(300), unb64(pyMax?.['signature']))).toBe(false)
  })

  it.each([2048, 4096] as const)('wraps with RSA-OAEP-SHA256 both ways at %i bits', (bits) => {
    const pair = bits === 2048 ? oaepKey : (keys[4096] as RsaKeyPairPem)
    const other = keys[2048] as RsaKeyPairPem
    const secret = randomBytes(32)
    const ours = oaepWrap(pair.publicKeyPem, secret)
    const [pyUnwrap, pyWrap, pyWrongKey] = pyca([
      { op: 'oaep_decrypt', privateKeyPem: pair.privateKeyPem, ciphertext: b64(ours) },
      { op: 'oaep_encrypt', publicKeyPem: pair.publicKeyPem, plaintext: b64(secret) },
      { op: 'oaep_decrypt', privateKeyPem: other.privateKeyPem, ciphertext: b64(ours) }
    ])
    expect(ours).toHaveLength(bits / 8)
    expect(Buffer.from(unb64(pyUnwrap?.['plaintext'])).equals(secret)).toBe(true)
    expect(Buffer.from(oaepUnwrap(pair.privateKeyPem, unb64(pyWrap?.['ciphertext']))).equals(secret)).toBe(
      true
    )
    expect(pyWrongKey?.error).toBe('ValueError')
  })
})

describe('envelope interop with Python cryptography (AES-256-GCM, OAEP, PSS)', () => {
  const SENDER = '12D3KooWPySender'
  const RECIPIENT = '12D3KooWPyRecipient'

  it('Python opens our high-tier envelope: unwraps, verifies and decrypts with the header as AAD', () => {
    const sender = keys[3072] as RsaKeyPairPem
    const plaintext = randomBytes(5000)
    const { bytes } = sealEnvelope({
      header: {
        shareId: randomBytes(16).toString('hex'),
        sender: SENDER,
        recipient: RECIPIENT,
        tier: 'high',
        senderKeyId: keyFingerprint(sender.publicKeyPem),
        recipientKeyId: keyFingerprint(oaepKey.publicKeyPem)
      },
      plaintext,
      senderSigningPrivateKeyPem: sender.privateKeyPem,
      recipientEncryptionPublicKeyPem: oaepKey.publicKeyPem
    })
    const p = decodeEnvelope(bytes)
    const [sig, key] = pyca([
      {
        op: 'pss_verify',
        publicKeyPem: sender.publicKeyPem,
        data: b64(p.signed),
        signature: b64(p.signature)
      },
      { op: 'oaep_decrypt', privateKeyPem: oaepKey.privateKeyPem, ciphertext: b64(p.wrappedKey) }
    ])
    expect(sig?.['valid']).toBe(true)
    const [plain, wrongAad] = pyca([
      {
        op: 'gcm_decrypt',
        key: key?.['plaintext'],
        nonce: b64(p.iv),
        aad: b64(p.headerBytes),
        ciphertext: b64(p.ciphertext),
        tag: b64(p.tag)
      },
      {
        op: 'gcm_decrypt',
        key: key?.['plaintext'],
        nonce: b64(p.iv),
        aad: b64(Buffer.from('x')),
        ciphertext: b64(p.ciphertext),
        tag: b64(p.tag)
      }
    ])
    expect(Buffer.from(unb64(plain?.['plaintext'])).equals(plaintext)).toBe(true)
    expect(wrongAad?.error).toBe('InvalidTag')
  })

  it('we open a maximum-tier envelope whose parts Python encrypted, wrapped and signed', () => {
    const sender = keys[4096] as RsaKeyPairPem
    const header = {
      v: 1 as const,
      shareId: randomBytes(16).toString('hex'),
      sender: SENDER,
      recipient: RECIPIENT,
      tier: 'maximum' as const,
      timestamp: Date.now(),
      nonce: randomBytes(16).toString('hex'),
      senderKeyId: keyFingerprint(sender.publicKeyPem),
      recipientKeyId: keyFingerprint(oaepKey.publicKeyPem)
    }
    const headerBytes = encodeHeader(header)
    const contentKey = randomBytes(32)
    const iv = randomBytes(12)
    const plaintext = randomBytes(70_000)
    const [gcm, wrap] = pyca([
      {
        op: 'gcm_encrypt',
        key: b64(contentKey),
        nonce: b64(iv),
        aad: b64(headerBytes),
        plaintext: b64(plaintext)
      },
      { op: 'oaep_encrypt', publicKeyPem: oaepKey.publicKeyPem, plaintext: b64(contentKey) }
    ])
    const signed = encodeSignedPart({
      headerBytes,
      wrappedKey: unb64(wrap?.['ciphertext']),
      iv,
      ciphertext: unb64(gcm?.['ciphertext']),
      tag: unb64(gcm?.['tag'])
    })
    const [sig] = pyca([
      { op: 'pss_sign', privateKeyPem: sender.privateKeyPem, data: b64(signed), salt: 'max' }
    ])
    const opened = openEnvelope(appendSignature(signed, unb64(sig?.['signature'])), {
      senderSigningPublicKeyPem: sender.publicKeyPem,
      recipientEncryptionPrivateKeyPem: oaepKey.privateKeyPem,
      expectedRecipient: RECIPIENT
    })
    expect(opened.header).toEqual(header)
    expect(Buffer.from(opened.plaintext).equals(plaintext)).toBe(true)
  })
})
