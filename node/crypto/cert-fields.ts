import { createHash, createPublicKey, randomBytes } from 'node:crypto'
import forge from 'node-forge'
import { CertificateMalformedError, InvalidKeyError } from './errors.ts'

/**
 * The node fields of a node certificate travel as subjectAltName URIs, which every X.509 tool shows
 * and no OID registration is needed for (node-forge cannot encode UUID-derived OIDs):
 *   dmn:peer:<PeerId>   dmn:encryption-key:<base64url SPKI DER>   dmn:eth:<0x address>
 * The subject CN carries the PeerId too, for humans; both must agree.
 */
const PEER_PREFIX = 'dmn:peer:'
const KEY_PREFIX = 'dmn:encryption-key:'
const ETH_PREFIX = 'dmn:eth:'
const URI = 6

const { asn1, pki } = forge

export interface NodeFields {
  readonly peerId: string
  readonly encryptionPublicKeyPem: string
  readonly ethAddress?: string
}

interface RawExtension {
  id?: string
  name?: string
  altNames?: { type: number; value: string }[]
}

/** The subjectAltName extension carrying the node fields. */
export function nodeExtensions(fields: NodeFields): RawExtension[] {
  let spki: Buffer
  try {
    spki = createPublicKey(fields.encryptionPublicKeyPem).export({ type: 'spki', format: 'der' })
  } catch (err) {
    throw new InvalidKeyError('encryption public key is not a usable PEM', { cause: err })
  }
  const altNames = [
    { type: URI, value: PEER_PREFIX + fields.peerId },
    { type: URI, value: KEY_PREFIX + spki.toString('base64url') }
  ]
  if (fields.ethAddress !== undefined) altNames.push({ type: URI, value: ETH_PREFIX + fields.ethAddress })
  return [{ name: 'subjectAltName', altNames }]
}

/** Reads the node fields back; CertificateMalformedError when a required one is missing or doubled. */
export function readNodeFields(exts: readonly RawExtension[]): NodeFields {
  const uris = (exts.find((e) => e.name === 'subjectAltName')?.altNames ?? [])
    .filter((n) => n.type === URI && typeof n.value === 'string')
    .map((n) => n.value)
  const one = (prefix: string) => {
    const found = uris.filter((u) => u.startsWith(prefix))
    if (found.length > 1) throw new CertificateMalformedError(`more than one ${prefix} name`)
    return found[0]?.slice(prefix.length)
  }
  const peerId = one(PEER_PREFIX)
  const spki = one(KEY_PREFIX)
  const ethAddress = one(ETH_PREFIX)
  if (peerId === undefined || spki === undefined) {
    throw new CertificateMalformedError('not a node certificate: PeerId or encryption key name missing')
  }
  let encryptionPublicKeyPem: string
  try {
    encryptionPublicKeyPem = createPublicKey({
      key: Buffer.from(spki, 'base64url'),
      format: 'der',
      type: 'spki'
    }).export({
      type: 'spki',
      format: 'pem'
    }) as string
  } catch (err) {
    throw new CertificateMalformedError('encryption key name is not an SPKI public key', { cause: err })
  }
  return { peerId, encryptionPublicKeyPem, ...(ethAddress === undefined ? {} : { ethAddress }) }
}

/** A positive random 128-bit serial (RFC 5280 4.1.2.2: positive, <= 20 octets). */
export function randomSerial(): string {
  const hex = randomBytes(16).toString('hex')
  // First nibble 1..7: positive in two's complement and no leading zero octet.
  return ((Number.parseInt(hex[0] as string, 16) % 7) + 1).toString(16) + hex.slice(1)
}

export function certFingerprint(cert: forge.pki.Certificate): string {
  const der = asn1.toDer(pki.certificateToAsn1(cert)).getBytes()
  return createHash('sha256').update(Buffer.from(der, 'latin1')).digest('hex')
}

export function forgePublicKey(pem: string): forge.pki.rsa.PublicKey {
  try {
    return pki.publicKeyFromPem(pem) as forge.pki.rsa.PublicKey
  } catch (err) {
    throw new InvalidKeyError('not an RSA public key PEM', { cause: err })
  }
}

export function forgePrivateKey(pem: string): forge.pki.rsa.PrivateKey {
  try {
    return pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey
  } catch (err) {
    throw new InvalidKeyError('not an RSA private key PEM', { cause: err })
  }
}

export function spkiPemOf(cert: forge.pki.Certificate): string {
  // forge writes PKCS#1-in-SPKI PEM; round-trip through node:crypto for the canonical SPKI PEM.
  return createPublicKey(pki.publicKeyToPem(cert.publicKey)).export({ type: 'spki', format: 'pem' }) as string
}
