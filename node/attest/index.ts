/**
 * TPM 2.0 attestation for the maximum tier: quotes produced through tpm2-tools, parsed and verified
 * here (signature, magic, type, qualifying data, PCR digest, PCR policy, enrolled AK).
 */
export {
  AttestService,
  type AttestChallenge,
  type AttestComponents,
  type AttestInit
} from './attest-service.ts'
export {
  type AttestationEvidence,
  decodeAttestationFields,
  NO_TPM,
  qualifyingData,
  type TpmAttestationFields
} from './attestation-fields.ts'
export * from './constants.ts'
export { type Enrolment, enrol, parseAkPublicKey } from './enrolments.ts'
export * from './errors.ts'
export { loadPcrPolicy, type PcrPolicy, parsePcrPolicy, policyFromValues } from './policy.ts'
export { type AkAlgorithm, type TpmQuote, Tpm2Tools, type Tpm2ToolsInit } from './tpm2-tools.ts'
export { isAttestationKey, parseAttest, parsePublic, parseSignature } from './tpm-structures.ts'
export { akFingerprint, type QuoteExpectations, type VerifiedQuote, verifyQuote } from './verify-quote.ts'
