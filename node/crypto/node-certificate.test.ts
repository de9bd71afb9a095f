import { beforeAll, describe, expect, it } from 'vitest'
import { createCaCertificate, createNodeCsr, issueNodeCertificate, parseNodeCsr } from './cert-authority.ts'
import { createNodeCertificate, parseNodeCertificate, verifyNodeCertificate } from './node-certificate.ts'
import { generateRsaKeyPair, keyFingerprint, type RsaKeyPairPem } from './rsa.ts'

let signing: RsaKeyPairPem
let encryption: RsaKeyPairPem
let caKey: RsaKeyPairPem
let otherCaKey: RsaKeyPairPem
const PEER = '12D3KooWCertPeerIdAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const ETH = '0x52908400098527886E0F7030069857D2E4169EE7'
const DAY = 86_400_000

beforeAll(async () => {
  ;[signing, encryption, caKey, otherCaKey] = await Promise.all([
    generateRsaKeyPair(2048),
    generateRsaKeyPair(2048),
    generateRsaKeyPair(2048),
    generateRsaKeyPair(2048)
  ])
})

const selfSigned = (extra: { validDays?: number; notBefore?: Date } = {}) =>
  createNodeCertificate({
    peerId: PEER,
    signingPublicKeyPem: signing.publicKeyPem,
    encryptionPublicKeyPem: encryption.publicKeyPem,
    ethAddress: ETH,
    issuerPrivateKeyPem: signing.privateKeyPem,
    ...extra
  })

describe('node certificates', () => {
  it('binds the PeerId, both public keys and the Ethereum address', () => {
    const parsed = verifyNodeCertificate(selfSigned())
    expect(parsed.peerId).toBe(PEER)
    expect(parsed.ethAddress).toBe(ETH)
    expect(parsed.selfSigned).toBe(true)
    expect(keyFingerprint(parsed.signingPublicKeyPem)).toBe(keyFingerprint(signing.publicKeyPem))
    expect(keyFingerprint(parsed.encryptionPublicKeyPem)).toBe(keyFingerprint(encryption.publicKeyPem))
    expect(parsed.fingerprint).toMatch(/^[0-9a-f]{64}$/)
  })

  it('refuses to self-sign with a key other than the signing key', () => {
    expect(() =>
      createNodeCertificate({
        peerId: PEER,
        signingPublicKeyPem: signing.publicKeyPem,
        encryptionPublicKeyPem: encryption.publicKeyPem,
        issuerPrivateKeyPem: encryption.privateKeyPem
      })
    ).toThrow(expect.objectContaining({ name: 'InvalidKeyError' }))
  })

  it('refuses expired and not-yet-valid certificates', () => {
    const pem = selfSigned({ validDays: 1, notBefore: new Date(Date.now() - 10 * DAY) })
    expect(() => verifyNodeCertificate(pem)).toThrow(
      expect.objectContaining({ name: 'CertificateExpiredError' })
    )
    const future = selfSigned({ notBefore: new Date(Date.now() + 10 * DAY) })
    expect(() => verifyNodeCertificate(future)).toThrow(
      expect.objectContaining({ name: 'CertificateNotYetValidError' })
    )
    expect(verifyNodeCertificate(future, { now: new Date(Date.now() + 11 * DAY) }).peerId).toBe(PEER)
  })

  it('refuses garbage as malformed and an altered certificate by its signature', () => {
    expect(() => parseNodeCertificate('junk')).toThrow(
      expect.objectContaining({ name: 'CertificateMalformedError' })
    )
    const pem = selfSigned()
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
    // Inside the signed TBSCertificate, in the serial number.
    der[20] = (der[20] as number) ^ 1
    const altered = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`
    expect(() => verifyNodeCertificate(altered)).toThrow(
      expect.objectContaining({ name: 'CertificateSignatureError' })
    )
  })

  it('issues from a CSR under a consortium CA and verifies the chain', () => {
    const caPem = createCaCertificate({ commonName: 'Test consortium', privateKeyPem: caKey.privateKeyPem })
    const csr = createNodeCsr({
      peerId: PEER,
      signingPrivateKeyPem: signing.privateKeyPem,
      encryptionPublicKeyPem: encryption.publicKeyPem
    })
    expect(parseNodeCsr(csr).peerId).toBe(PEER)
    const pem = issueNodeCertificate({
      csrPem: csr,
      caPrivateKeyPem: caKey.privateKeyPem,
      caCertificatePem: caPem
    })
    const parsed = verifyNodeCertificate(pem, { caCertificatePems: [caPem] })
    expect(parsed.selfSigned).toBe(false)
    expect(keyFingerprint(parsed.encryptionPublicKeyPem)).toBe(keyFingerprint(encryption.publicKeyPem))
    expect(() => verifyNodeCertificate(pem)).toThrow(
      expect.objectContaining({ name: 'CertificateUntrustedError' })
    )
    const otherCa = createCaCertificate({
      commonName: 'Other consortium',
      privateKeyPem: otherCaKey.privateKeyPem
    })
    expect(() => verifyNodeCertificate(pem, { caCertificatePems: [otherCa] })).toThrow(
      expect.objectContaining({ name: 'CertificateUntrustedError' })
    )
    // Same CA name, different key: the signature is what decides.
    const impostor = createCaCertificate({
      commonName: 'Test consortium',
      privateKeyPem: otherCaKey.privateKeyPem
    })
    expect(() => verifyNodeCertificate(pem, { caCertificatePems: [impostor] })).toThrow(
      expect.objectContaining({ name: 'CertificateSignatureError' })
    )
  })

  it('refuses a chain through a CA certificate that may not sign or has expired', () => {
    // A node certificate used as an issuer: not a CA.
    const notCa = selfSigned()
    const csr = createNodeCsr({
      peerId: '12D3KooWOther',
      signingPrivateKeyPem: caKey.privateKeyPem,
      encryptionPublicKeyPem: encryption.publicKeyPem
    })
    const issued = createNodeCertificate({
      ...parseNodeCsr(csr),
      issuerPrivateKeyPem: signing.privateKeyPem,
      issuerCertificatePem: notCa
    })
    expect(() => verifyNodeCertificate(issued, { caCertificatePems: [notCa] })).toThrow(
      expect.objectContaining({ name: 'CertificateKeyUsageError' })
    )
    const oldCa = createCaCertificate({
      commonName: 'Old consortium',
      privateKeyPem: caKey.privateKeyPem,
      validDays: 1,
      notBefore: new Date(Date.now() - 5 * DAY)
    })
    const underOld = createNodeCertificate({
      ...parseNodeCsr(
        createNodeCsr({
          peerId: PEER,
          signingPrivateKeyPem: signing.privateKeyPem,
          encryptionPublicKeyPem: encryption.publicKeyPem
        })
      ),
      issuerPrivateKeyPem: caKey.privateKeyPem,
      issuerCertificatePem: oldCa
    })
    expect(() => verifyNodeCertificate(underOld, { caCertificatePems: [oldCa] })).toThrow(
      expect.objectContaining({ name: 'CertificateExpiredError' })
    )
  })

  it('refuses a CSR whose signature does not verify', () => {
    const csr = createNodeCsr({
      peerId: PEER,
      signingPrivateKeyPem: signing.privateKeyPem,
      encryptionPublicKeyPem: encryption.publicKeyPem
    })
    const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64')
    der[30] = (der[30] as number) ^ 1
    const altered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`
    expect(() => parseNodeCsr(altered)).toThrow(expect.objectContaining({ name: 'CsrInvalidError' }))
  })
})
