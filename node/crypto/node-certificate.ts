import forge from 'node-forge'
import { ETH_ADDRESS_PATTERN } from '../core/share.ts'
import {
  certFingerprint,
  forgePrivateKey,
  forgePublicKey,
  nodeExtensions,
  randomSerial,
  readNodeFields,
  spkiPemOf
} from './cert-fields.ts'
import {
  CertificateExpiredError,
  CertificateKeyUsageError,
  CertificateMalformedError,
  CertificateNotYetValidError,
  CertificateSignatureError,
  CertificateUntrustedError,
  InvalidKeyError
} from './errors.ts'
import { keyFingerprint, publicKeyPemOf } from './rsa.ts'

/**
 * Node certificates (node-forge X.509 v3, sha256WithRSAEncryption): subject CN = PeerId, subject
 * public key = the node's RSA signing key, and extensions binding the PeerId, the RSA encryption key
 * and optionally the Ethereum address. Self-signed by the node's signing key, or issued by a
 * consortium CA (see cert-authority.ts). The signing key also signs its self-signed certificate
 * with PKCS#1 v1.5, because that is what X.509 tooling (forge, openssl verify) expects.
 */

const { pki } = forge

export interface CreateNodeCertificateInput {
  readonly peerId: string
  readonly signingPublicKeyPem: string
  readonly encryptionPublicKeyPem: string
  readonly ethAddress?: string
  /** Self-signed: the node's signing private key. Otherwise the CA's key. */
  readonly issuerPrivateKeyPem: string
  readonly issuerCertificatePem?: string
  readonly validDays?: number
  /** Start of validity; now by default. */
  readonly notBefore?: Date
}

export interface ParsedNodeCertificate {
  readonly peerId: string
  readonly signingPublicKeyPem: string
  readonly encryptionPublicKeyPem: string
  readonly ethAddress?: string
  readonly notBefore: Date
  readonly notAfter: Date
  readonly selfSigned: boolean
  /** Hex SHA-256 of the certificate DER. */
  readonly fingerprint: string
  readonly subject: string
  readonly issuer: string
  readonly serialNumber: string
}

// The subject's own check (a printable name that fits the certificate); the p2p layer matches it to the peer.
const PEER_ID = /^[A-Za-z0-9]{1,128}$/

export function nodeCertificateExtensions(input: {
  peerId: string
  encryptionPublicKeyPem: string
  ethAddress?: string
}) {
  if (!PEER_ID.test(input.peerId)) throw new CertificateMalformedError('peerId is not a PeerId')
  if (input.ethAddress !== undefined && !ETH_ADDRESS_PATTERN.test(input.ethAddress)) {
    throw new CertificateMalformedError('ethAddress is not a 0x-prefixed 20-byte hex address')
  }
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    ...nodeExtensions(input)
  ]
}

/** Issues a node certificate (self-signed unless an issuer certificate is given); returns its PEM. */
export function createNodeCertificate(input: CreateNodeCertificateInput): string {
  const cert = pki.createCertificate()
  cert.publicKey = forgePublicKey(input.signingPublicKeyPem)
  cert.serialNumber = randomSerial()
  const notBefore = input.notBefore ?? new Date()
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = new Date(notBefore.getTime() + (input.validDays ?? 365) * 86_400_000)
  const subject = [
    { shortName: 'CN', value: input.peerId },
    { shortName: 'O', value: 'DataMgmt Node' }
  ]
  cert.setSubject(subject)
  if (input.issuerCertificatePem) {
    cert.setIssuer(parseForge(input.issuerCertificatePem).subject.attributes)
  } else {
    if (
      keyFingerprint(publicKeyPemOf(input.issuerPrivateKeyPem)) !== keyFingerprint(input.signingPublicKeyPem)
    ) {
      throw new InvalidKeyError('a self-signed node certificate must be signed by the node signing key')
    }
    cert.setIssuer(subject)
  }
  cert.setExtensions(nodeCertificateExtensions(input))
  cert.sign(forgePrivateKey(input.issuerPrivateKeyPem), forge.md.sha256.create())
  return pki.certificateToPem(cert)
}

export function parseForge(pem: string): forge.pki.Certificate {
  try {
    return pki.certificateFromPem(pem)
  } catch (err) {
    throw new CertificateMalformedError('not a PEM X.509 RSA certificate', { cause: err })
  }
}

export function isSelfSigned(cert: forge.pki.Certificate): boolean {
  if (cert.issuer.hash !== cert.subject.hash) return false
  try {
    return cert.verify(cert)
  } catch {
    return false
  }
}

/** Reads a node certificate's fields without judging its validity. */
export function parseNodeCertificate(pem: string): ParsedNodeCertificate {
  const cert = parseForge(pem)
  const fields = readNodeFields(cert.extensions)
  const cn = cert.subject.getField('CN')?.value as string | undefined
  if (cn !== fields.peerId)
    throw new CertificateMalformedError('subject CN differs from the PeerId extension')
  const name = (n: forge.pki.Certificate['subject']) =>
    n.attributes.map((a) => `${a.shortName ?? a.type}=${String(a.value)}`).join(', ')
  return {
    peerId: fields.peerId,
    signingPublicKeyPem: spkiPemOf(cert),
    encryptionPublicKeyPem: fields.encryptionPublicKeyPem,
    ...(fields.ethAddress === undefined ? {} : { ethAddress: fields.ethAddress }),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    selfSigned: isSelfSigned(cert),
    fingerprint: certFingerprint(cert),
    subject: name(cert.subject),
    issuer: name(cert.issuer),
    serialNumber: cert.serialNumber
  }
}

export function checkDates(cert: forge.pki.Certificate, now: Date, what: string): void {
  if (now < cert.validity.notBefore)
    throw new CertificateNotYetValidError(
      `${what} is not valid before ${cert.validity.notBefore.toISOString()}`
    )
  if (now > cert.validity.notAfter)
    throw new CertificateExpiredError(`${what} expired at ${cert.validity.notAfter.toISOString()}`)
}

function checkCa(ca: forge.pki.Certificate, now: Date): void {
  const bc = ca.getExtension('basicConstraints') as { cA?: boolean } | null
  const ku = ca.getExtension('keyUsage') as { keyCertSign?: boolean } | null
  if (!bc?.cA) throw new CertificateKeyUsageError('issuer certificate is not a CA (basicConstraints cA)')
  if (!ku?.keyCertSign)
    throw new CertificateKeyUsageError('issuer certificate may not sign certificates (keyUsage keyCertSign)')
  checkDates(ca, now, 'CA certificate')
}

function signedBy(cert: forge.pki.Certificate, issuer: forge.pki.Certificate): boolean {
  try {
    return issuer.verify(cert)
  } catch {
    return false
  }
}

export interface VerifyNodeCertificateOptions {
  /** Trust anchors (consortium CAs). Without them only a valid self-signed certificate passes. */
  readonly caCertificatePems?: readonly string[]
  /** Intermediate CA certificates that may sit between the node certificate and an anchor. */
  readonly intermediatePems?: readonly string[]
  readonly now?: Date
}

const MAX_CHAIN = 5

/**
 * Verifies a node certificate: fields, validity dates, key usage (digitalSignature, not a CA) and
 * the signature chain. With CAs given, the chain must reach one of them through CA certificates
 * (cA, keyCertSign, in date); otherwise the certificate must be validly self-signed.
 */
export function verifyNodeCertificate(
  pem: string,
  opts: VerifyNodeCertificateOptions = {}
): ParsedNodeCertificate {
  const parsed = parseNodeCertificate(pem)
  const cert = parseForge(pem)
  const now = opts.now ?? new Date()
  checkDates(cert, now, 'node certificate')
  const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | null
  const ku = cert.getExtension('keyUsage') as { digitalSignature?: boolean } | null
  if (bc?.cA) throw new CertificateKeyUsageError('a node certificate must not be a CA')
  if (!ku?.digitalSignature)
    throw new CertificateKeyUsageError('node certificate lacks keyUsage digitalSignature')
  const anchors = (opts.caCertificatePems ?? []).map(parseForge)
  if (anchors.length === 0) {
    if (!parsed.selfSigned) {
      throw cert.issuer.hash === cert.subject.hash
        ? new CertificateSignatureError('self-signed certificate signature does not verify')
        : new CertificateUntrustedError('certificate is issued by a CA and no CA is configured')
    }
    return parsed
  }
  const intermediates = (opts.intermediatePems ?? []).map(parseForge)
  let current = cert
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const anchor = anchors.find((a) => a.subject.hash === current.issuer.hash)
    if (anchor) {
      checkCa(anchor, now)
      if (!signedBy(current, anchor))
        throw new CertificateSignatureError('certificate signature does not verify with the CA key')
      return parsed
    }
    const next = intermediates.find((a) => a.subject.hash === current.issuer.hash && a !== current)
    if (!next) break
    checkCa(next, now)
    if (!signedBy(current, next))
      throw new CertificateSignatureError(
        'certificate signature does not verify with the intermediate CA key'
      )
    current = next
  }
  throw new CertificateUntrustedError('certificate does not chain to a configured CA')
}
