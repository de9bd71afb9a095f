import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeAttestationFields, NO_TPM, qualifyingData } from './attestation-fields.ts'
import { loadPcrPolicy, parsePcrPolicy, policyFromValues } from './policy.ts'
import { parseAttest, parsePublic, parseSignature } from './tpm-structures.ts'

const HEX = 'ab'.repeat(32)
const good = { bank: 'sha256', pcrs: { '0': [HEX], '7': [HEX], '10': [HEX, 'CD'.repeat(32)] } }
const named = (name: string) => expect.objectContaining({ name })

describe('PCR policy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-policy-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('accepts several known-good values per PCR, case-insensitively', () => {
    const policy = parsePcrPolicy(good)
    expect(policy.pcrs.get(10)).toEqual(new Set([HEX, 'cd'.repeat(32)]))
  })

  it('refuses a policy that leaves an attested PCR unchecked, or holds a bad value, listing each problem', () => {
    expect(() => parsePcrPolicy({ bank: 'sha256', pcrs: { '0': [HEX], '7': ['xyz'] } })).toThrow(
      named('PcrPolicyFileError')
    )
    expect(() => parsePcrPolicy({ bank: 'sha1', pcrs: { '0': [HEX], '7': [HEX], '10': [HEX] } })).toThrow(
      named('PcrPolicyFileError')
    )
    expect(() => parsePcrPolicy({ ...good, pcrs: { ...good.pcrs, '24': [HEX] } })).toThrow(
      named('PcrPolicyFileError')
    )
    expect(() => parsePcrPolicy({ ...good, pcrs: { ...good.pcrs, '10': [] } })).toThrow(
      named('PcrPolicyFileError')
    )
    expect(() => parsePcrPolicy([])).toThrow(named('PcrPolicyFileError'))
  })

  it('loads a policy file and names a missing or non-JSON file with PcrPolicyFileError', () => {
    const file = join(dir, 'policy.json')
    writeFileSync(
      file,
      JSON.stringify(
        policyFromValues(
          new Map([
            [10, HEX],
            [0, HEX],
            [7, HEX]
          ])
        )
      )
    )
    expect([...loadPcrPolicy(file).pcrs.keys()]).toEqual([0, 7, 10])
    writeFileSync(file, '{not json')
    expect(() => loadPcrPolicy(file)).toThrow(named('PcrPolicyFileError'))
    expect(() => loadPcrPolicy(join(dir, 'missing.json'))).toThrow(named('PcrPolicyFileError'))
  })
})

describe('tpm_attestation fields', () => {
  it('binds the payload id and the nonce into 32 bytes of qualifying data', () => {
    const nonce = new Uint8Array(16).fill(7)
    const q = qualifyingData('a'.repeat(32), nonce)
    expect(q.byteLength).toBe(32)
    expect(Buffer.from(q.subarray(16))).toEqual(Buffer.from(nonce))
    expect(Buffer.from(qualifyingData('b'.repeat(32), nonce))).not.toEqual(Buffer.from(q))
    expect(() => qualifyingData('x', new Uint8Array(8))).toThrow(named('AttestationMalformedError'))
  })

  it('reads is_available false as AttestationUnavailableError', () => {
    expect(() => decodeAttestationFields(NO_TPM)).toThrow(named('AttestationUnavailableError'))
  })

  it('refuses missing, non-base64 or non-sha256 fields with AttestationMalformedError', () => {
    const fields = {
      is_available: true,
      pcr_banks: ['sha256'],
      pcr_values: { sha256: { '0': HEX, '7': HEX, '10': HEX } },
      aik_pubkey_b64: 'AAEC',
      quote_b64: 'AAEC',
      signature_b64: 'AAEC'
    }
    expect(decodeAttestationFields(fields).pcrValues.size).toBe(3)
    for (const broken of [
      null,
      { ...fields, is_available: 'yes' },
      { ...fields, pcr_banks: ['sha1'] },
      { ...fields, pcr_values: { sha256: { '10': 'abc' } } },
      { ...fields, quote_b64: 'not base64!' },
      { ...fields, signature_b64: undefined }
    ]) {
      expect(() => decodeAttestationFields(broken)).toThrow(named('AttestationMalformedError'))
    }
  })
})

describe('TPM structure parsers on malformed input', () => {
  it('refuses truncated structures and trailing bytes with AttestationMalformedError', () => {
    expect(() => parseAttest(new Uint8Array([0xff, 0x54]))).toThrow(named('AttestationMalformedError'))
    expect(() => parsePublic(new Uint8Array([0, 1, 0]))).toThrow(named('AttestationMalformedError'))
    // RSASSA/SHA-256 with a 1-byte signature, then one byte too many.
    expect(() => parseSignature(new Uint8Array([0, 0x14, 0, 0x0b, 0, 1, 9, 9]))).toThrow(
      named('AttestationMalformedError')
    )
  })

  it('refuses HMAC signatures and unknown key types with UnsupportedAlgorithmError', () => {
    expect(() => parseSignature(new Uint8Array([0, 0x05, 0, 0x0b]))).toThrow(
      named('UnsupportedAlgorithmError')
    )
    expect(() => parsePublic(new Uint8Array([0, 4, 0, 0x25, 0, 0x0b]))).toThrow(
      named('UnsupportedAlgorithmError')
    )
  })
})
