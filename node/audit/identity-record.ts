/**
 * The node identity record (docs/AUDIT.md, "The node identity record"): binds a PeerId to the node's
 * RSA signing key, RSA encryption key and Ethereum account, signed by the PeerId's own libp2p key and
 * by the account. Anyone can check a record offline; nothing here touches a database, so the
 * standalone bundle check uses it as it is.
 */
import { createHash, createPublicKey } from 'node:crypto'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { getAddress, verifyMessage } from 'ethers'
import { DmnError } from '../core/errors.ts'
import { ETH_ADDRESS_PATTERN, PEER_ID_PATTERN } from '../core/share.ts'

export const IDENTITY_RECORD_VERSION = 1
export const IDENTITY_RECORD_KIND = 'dmn-node-identity'

export interface IdentityRecordBody {
  readonly v: typeof IDENTITY_RECORD_VERSION
  readonly kind: typeof IDENTITY_RECORD_KIND
  readonly peerId: string
  /** Base64 of the libp2p public key (protobuf) whose PeerId is `peerId`. */
  readonly peerKey: string
  /** The Ethereum account, 0x and 40 hex digits in lower case. */
  readonly account: string
  /** Base64 DER SPKI of the RSA-PSS signing key. */
  readonly signingKey: string
  /** Base64 DER SPKI of the RSA-OAEP encryption key. */
  readonly encryptionKey: string
  /** When the record was made, Unix milliseconds. */
  readonly issuedAt: number
}

/** A record whose form and both signatures were checked. */
export interface VerifiedIdentity {
  /** The published text, exactly as signed and registered. */
  readonly record: string
  /** SHA-256 of `record` (64 hex), as the contract's `recordHash`. */
  readonly recordHash: string
  readonly body: IdentityRecordBody
  readonly signingKeyPem: string
  readonly encryptionKeyPem: string
}

/** Why a record is not valid: `malformed`, `peer_key_mismatch`, `bad_peer_signature`, `bad_account_signature`. */
export type IdentityRecordProblem =
  | 'malformed'
  | 'peer_key_mismatch'
  | 'bad_peer_signature'
  | 'bad_account_signature'

export class InvalidIdentityRecordError extends DmnError {
  override name = 'InvalidIdentityRecordError'
  readonly problem: IdentityRecordProblem

  constructor(problem: IdentityRecordProblem, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.problem = problem
  }
}

/** What signs a record on behalf of the Ethereum account (an ethers Wallet does). */
export interface AccountSigner {
  readonly address: string
  signMessage(message: Uint8Array): Promise<string>
}

export interface CreateIdentityRecordInput {
  readonly peerKey: PrivateKey
  readonly account: AccountSigner
  readonly signingPublicKeyPem: string
  readonly encryptionPublicKeyPem: string
  readonly issuedAt: number
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const ACCOUNT_SIGNATURE = /^0x[0-9a-f]{130}$/
const BODY_KEYS = 'account,encryptionKey,issuedAt,kind,peerId,peerKey,signingKey,v'

const spkiBase64 = (pem: string): string =>
  createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64')
const pemOf = (base64: string): string =>
  createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' }).export({
    type: 'spki',
    format: 'pem'
  }) as string

/** The body's canonical bytes (keys in the documented order, no whitespace). */
export function canonicalIdentityBody(b: IdentityRecordBody): Uint8Array {
  const s = JSON.stringify
  return new TextEncoder().encode(
    `{"v":${b.v},"kind":${s(b.kind)},"peerId":${s(b.peerId)},"peerKey":${s(b.peerKey)},"account":${s(b.account)},"signingKey":${s(b.signingKey)},"encryptionKey":${s(b.encryptionKey)},"issuedAt":${b.issuedAt}}`
  )
}

function publishedText(body: IdentityRecordBody, peerSignature: string, accountSignature: string): string {
  const bodyText = new TextDecoder().decode(canonicalIdentityBody(body))
  return `{"body":${bodyText},"peerSignature":${JSON.stringify(peerSignature)},"accountSignature":${JSON.stringify(accountSignature)}}`
}

/** Makes and signs this node's record; returns the text to publish. */
export async function createIdentityRecord(input: CreateIdentityRecordInput): Promise<string> {
  const body: IdentityRecordBody = {
    v: IDENTITY_RECORD_VERSION,
    kind: IDENTITY_RECORD_KIND,
    peerId: peerIdFromPublicKey(input.peerKey.publicKey).toString(),
    peerKey: Buffer.from(publicKeyToProtobuf(input.peerKey.publicKey)).toString('base64'),
    account: input.account.address.toLowerCase(),
    signingKey: spkiBase64(input.signingPublicKeyPem),
    encryptionKey: spkiBase64(input.encryptionPublicKeyPem),
    issuedAt: input.issuedAt
  }
  const bytes = canonicalIdentityBody(body)
  const peerSignature = Buffer.from(await input.peerKey.sign(bytes)).toString('base64')
  const accountSignature = (await input.account.signMessage(bytes)).toLowerCase()
  return publishedText(body, peerSignature, accountSignature)
}

const malformed = (message: string, cause?: unknown) =>
  new InvalidIdentityRecordError('malformed', `identity record: ${message}`, cause ? { cause } : undefined)

function checkedBody(value: unknown): IdentityRecordBody {
  if (value === null || typeof value !== 'object') throw malformed('body must be an object')
  const b = value as Record<string, unknown>
  if (Object.keys(b).sort().join(',') !== BODY_KEYS) throw malformed('body has other fields')
  if (b['v'] !== IDENTITY_RECORD_VERSION || b['kind'] !== IDENTITY_RECORD_KIND)
    throw malformed('not a v1 record')
  if (typeof b['peerId'] !== 'string' || !PEER_ID_PATTERN.test(b['peerId'])) throw malformed('bad peerId')
  if (
    typeof b['account'] !== 'string' ||
    !ETH_ADDRESS_PATTERN.test(b['account']) ||
    b['account'] !== b['account'].toLowerCase()
  ) {
    throw malformed('bad account')
  }
  for (const key of ['peerKey', 'signingKey', 'encryptionKey']) {
    if (typeof b[key] !== 'string' || !BASE64.test(b[key])) throw malformed(`bad ${key}`)
  }
  if (typeof b['issuedAt'] !== 'number' || !Number.isSafeInteger(b['issuedAt']) || b['issuedAt'] < 0) {
    throw malformed('bad issuedAt')
  }
  return b as unknown as IdentityRecordBody
}

/**
 * Checks a published record: its exact canonical form, that `peerKey` yields `peerId`, and both
 * signatures. Throws InvalidIdentityRecordError naming the problem.
 */
export async function verifyIdentityRecord(record: string): Promise<VerifiedIdentity> {
  let parsed: unknown
  try {
    parsed = JSON.parse(record)
  } catch (err) {
    throw malformed('not JSON', err)
  }
  if (parsed === null || typeof parsed !== 'object') throw malformed('not an object')
  const r = parsed as Record<string, unknown>
  if (Object.keys(r).sort().join(',') !== 'accountSignature,body,peerSignature')
    throw malformed('other fields')
  const body = checkedBody(r['body'])
  const peerSignature = r['peerSignature']
  const accountSignature = r['accountSignature']
  if (typeof peerSignature !== 'string' || !BASE64.test(peerSignature)) throw malformed('bad peerSignature')
  if (typeof accountSignature !== 'string' || !ACCOUNT_SIGNATURE.test(accountSignature)) {
    throw malformed('bad accountSignature')
  }
  if (publishedText(body, peerSignature, accountSignature) !== record)
    throw malformed('not in canonical form')
  let signingKeyPem: string
  let encryptionKeyPem: string
  try {
    signingKeyPem = pemOf(body.signingKey)
    encryptionKeyPem = pemOf(body.encryptionKey)
  } catch (err) {
    throw malformed('a key is not a DER SPKI public key', err)
  }
  let peerKey: ReturnType<typeof publicKeyFromProtobuf>
  try {
    peerKey = publicKeyFromProtobuf(Buffer.from(body.peerKey, 'base64'))
  } catch (err) {
    throw malformed('peerKey is not a libp2p public key', err)
  }
  if (peerIdFromPublicKey(peerKey).toString() !== body.peerId) {
    throw new InvalidIdentityRecordError(
      'peer_key_mismatch',
      'identity record: peerKey is not the key of peerId'
    )
  }
  const bytes = canonicalIdentityBody(body)
  if (!(await peerKey.verify(bytes, Buffer.from(peerSignature, 'base64')))) {
    throw new InvalidIdentityRecordError(
      'bad_peer_signature',
      'identity record: the PeerId key did not sign it'
    )
  }
  let signer: string
  try {
    signer = verifyMessage(bytes, accountSignature)
  } catch (err) {
    throw new InvalidIdentityRecordError('bad_account_signature', 'identity record: bad account signature', {
      cause: err
    })
  }
  if (getAddress(signer) !== getAddress(body.account)) {
    throw new InvalidIdentityRecordError(
      'bad_account_signature',
      'identity record: the account did not sign it'
    )
  }
  return {
    record,
    recordHash: createHash('sha256').update(record).digest('hex'),
    body,
    signingKeyPem,
    encryptionKeyPem
  }
}

/** True when two records bind the same PeerId, keys and account (they may differ in `issuedAt`). */
export function sameBinding(a: IdentityRecordBody, b: IdentityRecordBody): boolean {
  return (
    a.peerId === b.peerId &&
    a.peerKey === b.peerKey &&
    a.account === b.account &&
    a.signingKey === b.signingKey &&
    a.encryptionKey === b.encryptionKey
  )
}

/** The body of a published record, without checking signatures (the node's own, from its outbox). */
export function identityBodyOf(record: string): IdentityRecordBody {
  try {
    return checkedBody((JSON.parse(record) as { body?: unknown }).body)
  } catch (err) {
    if (err instanceof InvalidIdentityRecordError) throw err
    throw malformed('not JSON', err)
  }
}
