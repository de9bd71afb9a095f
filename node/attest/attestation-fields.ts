import { createHash } from 'node:crypto'
import { ATTESTED_PCR_BANK, CHALLENGE_NONCE_BYTES, PAYLOAD_DIGEST_BYTES } from './constants.ts'
import { AttestationMalformedError, AttestationUnavailableError } from './errors.ts'

/**
 * The recipient's answer to a challenge, as the seed's `tpm_attestation` object: `is_available`,
 * `pcr_banks`, `pcr_values` (bank -> PCR index -> hex), `aik_pubkey_b64` (TPM2B_PUBLIC),
 * `quote_b64` (TPMS_ATTEST) and `signature_b64` (TPMT_SIGNATURE).
 */
export interface TpmAttestationFields {
  readonly is_available: boolean
  readonly pcr_banks: readonly string[]
  readonly pcr_values: Readonly<Record<string, Readonly<Record<string, string>>>>
  readonly aik_pubkey_b64: string | null
  readonly quote_b64: string | null
  readonly signature_b64: string | null
}

/** What a quote carries, decoded from the fields. */
export interface AttestationEvidence {
  readonly akPublic: Uint8Array
  readonly quote: Uint8Array
  readonly signature: Uint8Array
  /** Reported values of the attested bank, by PCR index. */
  readonly pcrValues: ReadonlyMap<number, Uint8Array>
}

/** The answer of a node without a TPM. */
export const NO_TPM: TpmAttestationFields = Object.freeze({
  is_available: false,
  pcr_banks: [],
  pcr_values: {},
  aik_pubkey_b64: null,
  quote_b64: null,
  signature_b64: null
})

/**
 * Qualifying data of a challenge: the first 16 bytes of SHA-256(payload id) (README "Maximum tier:
 * TPM attestation"), then the sender's fresh 16-byte nonce, so a quote recorded for an earlier attempt at the
 * same share cannot be played back.
 */
export function qualifyingData(payloadId: string, nonce: Uint8Array): Uint8Array {
  if (nonce.byteLength !== CHALLENGE_NONCE_BYTES)
    throw new AttestationMalformedError(`nonce must be ${CHALLENGE_NONCE_BYTES} bytes`)
  const digest = createHash('sha256').update(payloadId, 'utf8').digest().subarray(0, PAYLOAD_DIGEST_BYTES)
  return Buffer.concat([digest, nonce])
}

/** Decodes an answer; `is_available: false` is AttestationUnavailableError, anything ill-formed is malformed. */
export function decodeAttestationFields(value: unknown): AttestationEvidence {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new AttestationMalformedError('tpm_attestation is not an object')
  const raw = value as Record<string, unknown>
  if (raw['is_available'] === false)
    throw new AttestationUnavailableError('the recipient has no TPM to attest with')
  if (raw['is_available'] !== true) throw new AttestationMalformedError('is_available must be a boolean')
  const banks = raw['pcr_banks']
  if (!Array.isArray(banks) || !banks.includes(ATTESTED_PCR_BANK))
    throw new AttestationMalformedError(`pcr_banks must include ${ATTESTED_PCR_BANK}`)
  const values = (raw['pcr_values'] as Record<string, unknown> | undefined)?.[ATTESTED_PCR_BANK]
  if (values === null || typeof values !== 'object' || Array.isArray(values))
    throw new AttestationMalformedError(`pcr_values.${ATTESTED_PCR_BANK} must be an object`)
  const pcrValues = new Map<number, Uint8Array>()
  for (const [index, hex] of Object.entries(values as Record<string, unknown>)) {
    if (!/^\d{1,2}$/.test(index) || typeof hex !== 'string' || !/^(0x)?[0-9a-fA-F]{64}$/.test(hex))
      throw new AttestationMalformedError(`pcr_values.${ATTESTED_PCR_BANK}.${index} is not a sha256 value`)
    pcrValues.set(Number(index), Buffer.from(hex.replace(/^0x/, ''), 'hex'))
  }
  return {
    akPublic: base64Field(raw, 'aik_pubkey_b64'),
    quote: base64Field(raw, 'quote_b64'),
    signature: base64Field(raw, 'signature_b64'),
    pcrValues
  }
}

function base64Field(raw: Record<string, unknown>, name: string): Uint8Array {
  const value = raw[name]
  // 64 KiB is far above any real TPM structure; the control frame bounds it anyway.
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > 65_536 ||
    !/^[A-Za-z0-9+/]+={0,2}$/.test(value)
  )
    throw new AttestationMalformedError(`${name} must be base64`)
  return Buffer.from(value, 'base64')
}
