import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  parsePcrPolicy,
  type QuoteExpectations,
  qualifyingData,
  Tpm2Tools,
  verifyQuote
} from '../../node/attest/index.ts'
import {
  AKS,
  expectationsFor,
  PAYLOAD,
  type Recorded,
  type RecordedQuotes,
  recordQuote,
  recordQuotes,
  tamper
} from './recorded-quotes.ts'
import { type SoftTpm, startSoftTpm } from './swtpm.ts'

describe('TPM 2.0 quote verification: genuine swtpm quotes and every tamper case', () => {
  let tpm: SoftTpm
  let quotes: RecordedQuotes
  const rsassa = () => quotes.byAlgorithm.get('rsassa') as Recorded
  const expectations = (r: Recorded, overrides: Partial<QuoteExpectations> = {}) =>
    expectationsFor(r, quotes.policy, overrides)

  beforeAll(async () => {
    tpm = await startSoftTpm()
    quotes = await recordQuotes(tpm)
  })

  afterAll(async () => {
    await tpm?.stop()
  })

  it.each(AKS.map((a) => a.algorithm))('accepts a genuine quote signed by a %s AK', (algorithm) => {
    const r = quotes.byAlgorithm.get(algorithm) as Recorded
    const verified = verifyQuote(r.evidence, expectations(r))
    expect(verified.akFingerprint).toBe(r.fingerprint)
    expect(verified.pcrValues).toEqual({
      '0': '00'.repeat(32),
      '7': '00'.repeat(32),
      '10': expect.any(String)
    })
  })

  it('refuses a signature with one byte changed with QuoteSignatureError', () => {
    for (const { algorithm } of AKS) {
      const r = quotes.byAlgorithm.get(algorithm) as Recorded
      const signature = tamper(
        r.evidence.signature,
        r.evidence.signature.byteLength - 1,
        r.evidence.signature.at(-1)! ^ 1
      )
      expect(() => verifyQuote({ ...r.evidence, signature }, expectations(r))).toThrow(
        expect.objectContaining({ name: 'QuoteSignatureError' })
      )
    }
  })

  it('refuses a quote whose body changed after signing with QuoteSignatureError', () => {
    const r = rsassa()
    const at = r.evidence.quote.byteLength - 1
    const quote = tamper(r.evidence.quote, at, r.evidence.quote[at]! ^ 0xff)
    expect(() => verifyQuote({ ...r.evidence, quote }, expectations(r))).toThrow(
      expect.objectContaining({ name: 'QuoteSignatureError' })
    )
  })

  it('refuses a TPMS_ATTEST without TPM_GENERATED_VALUE with QuoteMagicError', () => {
    const r = rsassa()
    expect(() =>
      verifyQuote({ ...r.evidence, quote: tamper(r.evidence.quote, 0, 0x00) }, expectations(r))
    ).toThrow(expect.objectContaining({ name: 'QuoteMagicError' }))
  })

  it('refuses an attestation that is not a quote with QuoteTypeError', () => {
    const r = rsassa()
    // 0x8017 is TPM_ST_ATTEST_CERTIFY.
    expect(() =>
      verifyQuote({ ...r.evidence, quote: tamper(r.evidence.quote, 5, 0x17) }, expectations(r))
    ).toThrow(expect.objectContaining({ name: 'QuoteTypeError' }))
  })

  it('refuses a genuine quote made for another challenge with QualifyingDataMismatchError', () => {
    const r = rsassa()
    const otherNonce = qualifyingData(PAYLOAD, new Uint8Array(randomBytes(16)))
    expect(() => verifyQuote(r.evidence, expectations(r, { qualifyingData: otherNonce }))).toThrow(
      expect.objectContaining({ name: 'QualifyingDataMismatchError' })
    )
    const otherShare = qualifyingData(randomBytes(16).toString('hex'), r.nonce)
    expect(() => verifyQuote(r.evidence, expectations(r, { qualifyingData: otherShare }))).toThrow(
      expect.objectContaining({ name: 'QualifyingDataMismatchError' })
    )
  })

  it('refuses reported PCR values that do not hash to the quoted digest with PcrDigestMismatchError', () => {
    const r = rsassa()
    const pcrValues = new Map(r.evidence.pcrValues)
    pcrValues.set(10, new Uint8Array(32))
    expect(() => verifyQuote({ ...r.evidence, pcrValues }, expectations(r))).toThrow(
      expect.objectContaining({ name: 'PcrDigestMismatchError' })
    )
  })

  it('refuses reported values for other PCRs than the attested ones with PcrSelectionMismatchError', () => {
    const r = rsassa()
    const pcrValues = new Map(r.evidence.pcrValues)
    pcrValues.delete(7)
    expect(() => verifyQuote({ ...r.evidence, pcrValues }, expectations(r))).toThrow(
      expect.objectContaining({ name: 'PcrSelectionMismatchError' })
    )
  })

  it('refuses a PCR value the policy does not list with PcrPolicyViolationError', () => {
    const r = rsassa()
    const strict = parsePcrPolicy({
      bank: 'sha256',
      pcrs: { '0': ['00'.repeat(32)], '7': ['00'.repeat(32)], '10': ['11'.repeat(32)] }
    })
    expect(() => verifyQuote(r.evidence, expectations(r, { policy: strict }))).toThrow(
      expect.objectContaining({ name: 'PcrPolicyViolationError' })
    )
  })

  it('refuses a peer with no enrolled AK with AkNotEnrolledError', () => {
    const r = rsassa()
    expect(() => verifyQuote(r.evidence, expectations(r, { enrolledAkFingerprint: undefined }))).toThrow(
      expect.objectContaining({ name: 'AkNotEnrolledError' })
    )
  })

  it('refuses a valid quote from another AK than the enrolled one with AkMismatchError', () => {
    const r = rsassa()
    const other = quotes.byAlgorithm.get('ecdsa') as Recorded
    expect(() =>
      verifyQuote(r.evidence, expectations(r, { enrolledAkFingerprint: other.fingerprint }))
    ).toThrow(expect.objectContaining({ name: 'AkMismatchError' }))
  })

  it('refuses a quote by an unrestricted signing key with AkNotRestrictedError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmn-key-'))
    try {
      // TPM2_Quote accepts any signing key; only a restricted one proves the TPM made the TPMS_ATTEST.
      const ctx = join(dir, 'k.ctx')
      await tpm.run('tpm2_createprimary', [
        '-C',
        'o',
        '-G',
        'rsa2048:rsassa-sha256:null',
        '-a',
        'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|noda',
        '-c',
        ctx,
        '-Q'
      ])
      await tpm.run('tpm2_evictcontrol', ['-C', 'o', '-c', ctx, '0x81010020', '-Q'])
      await tpm.run('tpm2_flushcontext', ['-t'])
      const tools = new Tpm2Tools({
        tcti: tpm.tcti,
        akHandle: '0x81010020',
        akAlgorithm: 'rsassa',
        timeoutMs: 10_000
      })
      const unrestricted = await recordQuote(tools, new Uint8Array(randomBytes(16)))
      expect(() => verifyQuote(unrestricted.evidence, expectations(unrestricted))).toThrow(
        expect.objectContaining({ name: 'AkNotRestrictedError' })
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
