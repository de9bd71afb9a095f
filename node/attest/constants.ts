/** TPM 2.0 constants (TCG TPM 2.0 Library, Part 2: Structures) and attestation defaults. */

/** TPM_GENERATED_VALUE: every TPMS_ATTEST the TPM itself produced starts with it (Part 2, 6.2). */
export const TPM_GENERATED_VALUE = 0xff544347
/** TPM_ST_ATTEST_QUOTE: the TPMS_ATTEST is a quote (Part 2, 6.9). */
export const TPM_ST_ATTEST_QUOTE = 0x8018

/** TPM_ALG_ID values used here (Part 2, 6.3). */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  NULL: 0x0010,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECDAA: 0x001a,
  ECC: 0x0023
} as const

/** Hash algorithms a quote may use, with node:crypto's name and the digest size. */
export const HASH_ALGORITHMS: ReadonlyMap<number, { readonly name: string; readonly size: number }> = new Map(
  [
    [TPM_ALG.SHA1, { name: 'sha1', size: 20 }],
    [TPM_ALG.SHA256, { name: 'sha256', size: 32 }],
    [TPM_ALG.SHA384, { name: 'sha384', size: 48 }],
    [TPM_ALG.SHA512, { name: 'sha512', size: 64 }]
  ]
)

/** TPM_ECC_CURVE values (Part 2, 6.4) with the JWK curve name. */
export const ECC_CURVES: ReadonlyMap<number, { readonly jwk: string; readonly size: number }> = new Map([
  [0x0003, { jwk: 'P-256', size: 32 }],
  [0x0004, { jwk: 'P-384', size: 48 }],
  [0x0005, { jwk: 'P-521', size: 66 }]
])

/** TPMA_OBJECT bits (Part 2, 8.3) that make a key an attestation key. */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  fixedParent: 1 << 4,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18
} as const

/** The quote covers these PCRs of the sha256 bank (README "Maximum tier: TPM attestation"). */
export const ATTESTED_PCR_BANK = 'sha256'
export const ATTESTED_PCRS: readonly number[] = [0, 7, 10]

/** Bytes of SHA-256(payload id) at the start of the qualifying data (README "Maximum tier: TPM attestation"). */
export const PAYLOAD_DIGEST_BYTES = 16
/** Bytes of the sender's fresh nonce after them: a recorded quote cannot answer a new challenge. */
export const CHALLENGE_NONCE_BYTES = 16

/** TPM_RC_HANDLE for handle 1: the persistent handle holds no object yet. */
export const TPM_RC_HANDLE_NOT_FOUND = '0x18B'
