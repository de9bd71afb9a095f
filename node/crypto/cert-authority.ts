import forge from 'node-forge'
import { forgePrivateKey, forgePublicKey, randomSerial, readNodeFields, spkiPemOf } from './cert-fields.ts'
import { CsrInvalidError, InvalidKeyError } from './errors.ts'
import { createNodeCertificate, nodeCertificateExtensions, parseForge } from './node-certificate.ts'
import { keyFingerprint, publicKeyPemOf } from './rsa.ts'

/**
 * The consortium side of node certificates: a CA certificate, a node's certificate signing request
 * (PKCS#10 with the node fields as requested extensions) and issuance from a CSR.
 */

const { pki } = forge

/** A self-signed CA certificate (cA, keyCertSign, cRLSign) for a consortium. */
export function createCaCertificate(input: {
  commonName: string
  privateKeyPem: string
  validDays?: number
  notBefore?: Date
}): string {
  const cert = pki.createCertificate()
  cert.publicKey = forgePublicKey(publicKeyPemOf(input.privateKeyPem))
  cert.serialNumber = randomSerial()
  const notBefore = input.notBefore ?? new Date()
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = new Date(notBefore.getTime() + (input.validDays ?? 3650) * 86_400_000)
  const name = [
    { shortName: 'CN', value: input.commonName },
    { shortName: 'O', value: 'DataMgmt Node consortium' }
  ]
  cert.setSubject(name)
  cert.setIssuer(name)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' }
  ])
  cert.sign(forgePrivateKey(input.privateKeyPem), forge.md.sha256.create())
  return pki.certificateToPem(cert)
}

/** A CSR for this node, signed with its signing key, requesting the node fields. */
export function createNodeCsr(input: {
  peerId: string
  signingPrivateKeyPem: string
  encryptionPublicKeyPem: string
  ethAddress?: string
}): string {
  const csr = pki.createCertificationRequest()
  csr.publicKey = forgePublicKey(publicKeyPemOf(input.signingPrivateKeyPem))
  csr.setSubject([
    { shortName: 'CN', value: input.peerId },
    { shortName: 'O', value: 'DataMgmt Node' }
  ])
  const extensions = nodeCertificateExtensions(input).filter((e) => e.name === 'subjectAltName')
  csr.setAttributes([{ name: 'extensionRequest', extensions }])
  csr.sign(forgePrivateKey(input.signingPrivateKeyPem), forge.md.sha256.create())
  return pki.certificationRequestToPem(csr)
}

export interface ParsedCsr {
  readonly peerId: string
  readonly signingPublicKeyPem: string
  readonly encryptionPublicKeyPem: string
  readonly ethAddress?: string
}

/** Parses a node CSR and checks its self-signature; CsrInvalidError otherwise. */
export function parseNodeCsr(pem: string): ParsedCsr {
  let csr: forge.pki.CertificateSigningRequest
  try {
    csr = pki.certificationRequestFromPem(pem)
  } catch (err) {
    throw new CsrInvalidError('not a PEM PKCS#10 RSA certificate signing request', { cause: err })
  }
  let ok = false
  try {
    ok = csr.verify()
  } catch {
    ok = false
  }
  if (!ok) throw new CsrInvalidError('the CSR signature does not verify with its own key')
  const attr = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: [] } | null
  let fields: ReturnType<typeof readNodeFields>
  try {
    fields = readNodeFields(attr?.extensions ?? [])
  } catch (err) {
    throw new CsrInvalidError('the CSR does not request the node fields', { cause: err })
  }
  if (csr.subject.getField('CN')?.value !== fields.peerId)
    throw new CsrInvalidError('CSR subject CN differs from its PeerId')
  const signingPublicKeyPem = spkiPemOf(csr as unknown as forge.pki.Certificate)
  if (keyFingerprint(signingPublicKeyPem) === keyFingerprint(fields.encryptionPublicKeyPem)) {
    throw new CsrInvalidError('signing and encryption keys must differ')
  }
  return { ...fields, signingPublicKeyPem }
}

/** Issues a node certificate from a CSR with the CA's key and certificate. */
export function issueNodeCertificate(input: {
  csrPem: string
  caPrivateKeyPem: string
  caCertificatePem: string
  validDays?: number
}): string {
  const csr = parseNodeCsr(input.csrPem)
  const ca = parseForge(input.caCertificatePem)
  if (keyFingerprint(spkiPemOf(ca)) !== keyFingerprint(publicKeyPemOf(input.caPrivateKeyPem))) {
    throw new InvalidKeyError('the CA private key does not belong to the CA certificate')
  }
  return createNodeCertificate({
    peerId: csr.peerId,
    signingPublicKeyPem: csr.signingPublicKeyPem,
    encryptionPublicKeyPem: csr.encryptionPublicKeyPem,
    ...(csr.ethAddress === undefined ? {} : { ethAddress: csr.ethAddress }),
    issuerPrivateKeyPem: input.caPrivateKeyPem,
    issuerCertificatePem: input.caCertificatePem,
    ...(input.validDays === undefined ? {} : { validDays: input.validDays })
  })
}
