import { constants, createHash, type KeyObject, verify } from 'node:crypto'
import {
  ATTESTED_PCRS,
  HASH_ALGORITHMS,
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST_ATTEST_QUOTE
} from './constants.ts'
import type { AttestationEvidence } from './attestation-fields.ts'
import {
  AkMismatchError,
  AkNotEnrolledError,
  AkNotRestrictedError,
  PcrDigestMismatchError,
  PcrPolicyViolationError,
  PcrSelectionMismatchError,
  QualifyingDataMismatchError,
  QuoteMagicError,
  QuoteSignatureError,
  QuoteTypeError,
  UnsupportedAlgorithmError
} from './errors.ts'
import type { PcrPolicy } from './policy.ts'
import {
  isAttestationKey,
  parseAttest,
  parsePublic,
  parseSignature,
  type TpmtSignature
} from './tpm-structures.ts'

/** What the sender requires of a quote. */
export interface QuoteExpectations {
  readonly qualifyingData: Uint8Array
  readonly policy: PcrPolicy
  /** The AK fingerprint the operator enrolled for this peer; undefined when none is. */
  readonly enrolledAkFingerprint: string | undefined
}

/** A quote that passed every check, with what it says about the recipient's platform. */
export interface VerifiedQuote {
  readonly akFingerprint: string
  readonly pcrValues: Readonly<Record<string, string>>
  readonly clock: string
  readonly resetCount: number
  readonly restartCount: number
  readonly firmwareVersion: string
}

/** SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: what enrolment pins. */
export function akFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')
}

/**
 * Verifies a TPM 2.0 quote against the challenge and the operator's trust decisions. Checks, in
 * order: the AK is the one enrolled for the peer and a restricted TPM signing key; the TPMS_ATTEST's
 * magic and type; the AK's signature over it; the qualifying data; that it covers exactly the
 * attested PCRs; the PCR digest against the reported values; each value against the policy.
 * Each failure throws its own named error.
 */
export function verifyQuote(evidence: AttestationEvidence, expect: QuoteExpectations): VerifiedQuote {
  const ak = parsePublic(evidence.akPublic)
  const fingerprint = akFingerprint(ak.key)
  if (expect.enrolledAkFingerprint === undefined)
    throw new AkNotEnrolledError('no attestation key is enrolled for this peer')
  if (fingerprint !== expect.enrolledAkFingerprint)
    throw new AkMismatchError(
      `the peer presented AK ${fingerprint}, not the enrolled ${expect.enrolledAkFingerprint}`
    )
  if (!isAttestationKey(ak))
    throw new AkNotRestrictedError('the AK is not a restricted, fixedTPM signing key')

  const attest = parseAttest(evidence.quote)
  if (attest.magic !== TPM_GENERATED_VALUE)
    throw new QuoteMagicError(`magic 0x${attest.magic.toString(16)} is not TPM_GENERATED_VALUE`)
  if (attest.type !== TPM_ST_ATTEST_QUOTE || !attest.quote)
    throw new QuoteTypeError(`type 0x${attest.type.toString(16)} is not TPM_ST_ATTEST_QUOTE`)

  const signature = parseSignature(evidence.signature)
  if (!signatureVerifies(ak.key, evidence.quote, signature))
    throw new QuoteSignatureError('the AK signature over the quote does not verify')

  if (!Buffer.from(attest.extraData).equals(Buffer.from(expect.qualifyingData)))
    throw new QualifyingDataMismatchError('the quote answers another challenge')

  const [bank, ...others] = attest.quote.pcrSelect
  const bankHash = bank && HASH_ALGORITHMS.get(bank.hashAlg)
  if (
    !bank ||
    others.length > 0 ||
    bankHash?.name !== expect.policy.bank ||
    !samePcrs(bank.pcrs, ATTESTED_PCRS)
  )
    throw new PcrSelectionMismatchError(
      `the quote must cover exactly ${expect.policy.bank}:${ATTESTED_PCRS.join(',')}`
    )
  if (
    !samePcrs(
      [...evidence.pcrValues.keys()].sort((a, b) => a - b),
      ATTESTED_PCRS
    )
  )
    throw new PcrSelectionMismatchError(`reported PCR values must be exactly ${ATTESTED_PCRS.join(',')}`)

  // TPM2_Quote hashes the selected PCRs, in selection order, with the signing scheme's hash.
  const digestHash = HASH_ALGORITHMS.get(signature.hashAlg)?.name as string
  const digest = createHash(digestHash)
  for (const pcr of bank.pcrs) digest.update(evidence.pcrValues.get(pcr) as Uint8Array)
  if (!digest.digest().equals(Buffer.from(attest.quote.pcrDigest)))
    throw new PcrDigestMismatchError('the reported PCR values do not hash to the quoted digest')

  const pcrValues: Record<string, string> = {}
  for (const pcr of bank.pcrs) {
    const value = Buffer.from(evidence.pcrValues.get(pcr) as Uint8Array).toString('hex')
    if (!expect.policy.pcrs.get(pcr)?.has(value))
      throw new PcrPolicyViolationError(`PCR ${pcr} = ${value} is not a known-good value`)
    pcrValues[String(pcr)] = value
  }
  return {
    akFingerprint: fingerprint,
    pcrValues,
    clock: attest.clockInfo.clock.toString(),
    resetCount: attest.clockInfo.resetCount,
    restartCount: attest.clockInfo.restartCount,
    firmwareVersion: `0x${attest.firmwareVersion.toString(16)}`
  }
}

function signatureVerifies(key: KeyObject, message: Uint8Array, signature: TpmtSignature): boolean {
  const hash = HASH_ALGORITHMS.get(signature.hashAlg)?.name as string
  const keyType = key.asymmetricKeyType
  if (signature.sigAlg === TPM_ALG.ECDSA) {
    if (keyType !== 'ec') throw new UnsupportedAlgorithmError('an ECDSA signature from a non-ECC AK')
    const width = curveBytes(key)
    if (signature.r.byteLength > width || signature.s.byteLength > width) return false
    const raw = Buffer.concat([pad(signature.r, width), pad(signature.s, width)])
    return verify(hash, message, { key, dsaEncoding: 'ieee-p1363' }, raw)
  }
  if (keyType !== 'rsa') throw new UnsupportedAlgorithmError('an RSA signature from a non-RSA AK')
  if (signature.sigAlg === TPM_ALG.RSAPSS) {
    // TPMs use salt length = digest size (or less on small keys); AUTO accepts whichever was used.
    return verify(
      hash,
      message,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
      signature.sig
    )
  }
  return verify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature.sig)
}

function curveBytes(key: KeyObject): number {
  const curve = key.asymmetricKeyDetails?.namedCurve
  return curve === 'prime256v1' ? 32 : curve === 'secp384r1' ? 48 : 66
}

function pad(bytes: Uint8Array, width: number): Uint8Array {
  if (bytes.byteLength >= width) return bytes
  const out = new Uint8Array(width)
  out.set(bytes, width - bytes.byteLength)
  return out
}

function samePcrs(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
