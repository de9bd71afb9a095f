import { DmnError } from '../core/errors.ts'

/**
 * Errors of TPM attestation. Each verification failure has its own name, so a refused share's last
 * error says exactly which check failed; refusals are matched on `name`, never on message text.
 */

/** tpm2-tools could not reach a TPM, or is not installed. */
export class TpmUnavailableError extends DmnError {
  override name = 'TpmUnavailableError'
}

/** A tpm2-tools command failed; the message names the command and the TPM's answer. */
export class TpmCommandError extends DmnError {
  override name = 'TpmCommandError'
}

/** The TPM holds no object at the handle asked for (TPM_RC_HANDLE), e.g. no AK persisted yet. */
export class TpmHandleNotFoundError extends TpmCommandError {
  override name = 'TpmHandleNotFoundError'
}

/** The recipient answered that it has no TPM (`is_available: false`): no maximum-tier share for it. */
export class AttestationUnavailableError extends DmnError {
  override name = 'AttestationUnavailableError'
}

/** An attestation answer or a TPM structure is truncated, has trailing bytes or a bad field. */
export class AttestationMalformedError extends DmnError {
  override name = 'AttestationMalformedError'
}

/** An algorithm (key type, signature scheme, hash, curve) this verifier does not accept. */
export class UnsupportedAlgorithmError extends DmnError {
  override name = 'UnsupportedAlgorithmError'
}

/** The TPMS_ATTEST does not start with TPM_GENERATED_VALUE: the TPM did not produce it. */
export class QuoteMagicError extends DmnError {
  override name = 'QuoteMagicError'
}

/** The TPMS_ATTEST is not a quote (TPM_ST_ATTEST_QUOTE). */
export class QuoteTypeError extends DmnError {
  override name = 'QuoteTypeError'
}

/** The AK's signature over the TPMS_ATTEST does not verify. */
export class QuoteSignatureError extends DmnError {
  override name = 'QuoteSignatureError'
}

/** The quote's extraData is not the qualifying data of this challenge (stale or replayed quote). */
export class QualifyingDataMismatchError extends DmnError {
  override name = 'QualifyingDataMismatchError'
}

/** The quote covers other PCRs than the ones attestation requires, or the reported values differ. */
export class PcrSelectionMismatchError extends DmnError {
  override name = 'PcrSelectionMismatchError'
}

/** The quote's PCR digest is not the hash of the reported PCR values. */
export class PcrDigestMismatchError extends DmnError {
  override name = 'PcrDigestMismatchError'
}

/** A PCR value is not one the operator's policy lists as known-good. */
export class PcrPolicyViolationError extends DmnError {
  override name = 'PcrPolicyViolationError'
}

/** The PCR policy file cannot be read or is not a valid policy. */
export class PcrPolicyFileError extends DmnError {
  override name = 'PcrPolicyFileError'
}

/** The AK is not a restricted, TPM-bound signing key, so its signature proves nothing about the TPM. */
export class AkNotRestrictedError extends DmnError {
  override name = 'AkNotRestrictedError'
}

/** No AK is enrolled for this peer: the operator has not vouched for any of its keys. */
export class AkNotEnrolledError extends DmnError {
  override name = 'AkNotEnrolledError'
}

/** The peer presented another AK than the one enrolled for it. */
export class AkMismatchError extends DmnError {
  override name = 'AkMismatchError'
}
