import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AkAlgorithm,
  type AttestationEvidence,
  akFingerprint,
  parseAttest,
  parsePcrPolicy,
  parsePublic,
  type PcrPolicy,
  qualifyingData,
  Tpm2Tools,
  verifyQuote
} from '../../node/attest/index.ts'
import { type SoftTpm, startSoftTpm } from './swtpm.ts'

/** Quotes recorded from a real swtpm in this run; every tamper case starts from a genuine one. */

const PCR10 = createHash('sha256').update('dmn boot measurement').digest('hex')
const PAYLOAD = randomBytes(16).toString('hex')
const AKS: readonly { algorithm: AkAlgorithm; handle: string }[] = [
  { algorithm: 'rsassa', handle: '0x81010010' },
  { algorithm: 'rsapss', handle: '0x81010011' },
  { algorithm: 'ecdsa', handle: '0x81010012' }
]

interface Recorded {
  readonly tools: Tpm2Tools
  readonly evidence: AttestationEvidence
  readonly nonce: Uint8Array
  readonly fingerprint: string
}

describe('TPM 2.0 quote verification against swtpm quotes', () => {
  let tpm: SoftTpm
  let policy: PcrPolicy
  const recorded = new Map<AkAlgorithm, Recorded>()

  const record = async (tools: Tpm2Tools, nonce: Uint8Array): Promise<AttestationEvidence> => {
    const akPublic = await tools.ensureAk()
    const quote = await tools.quote(qualifyingData(PAYLOAD, nonce))
    return { akPublic, quote: quote.quote, signature: quote.signature, pcrValues: quote.pcrValues }
  }
  const rsassa = () => recorded.get('rsassa') as Recorded
  const expectations = (r: Recorded, overrides: Partial<Parameters<typeof verifyQuote>[1]> = {}) => ({
    qualifyingData: qualifyingData(PAYLOAD, r.nonce),
    policy,
    enrolledAkFingerprint: r.fingerprint,
    ...overrides
  })
  const tamper = (bytes: Uint8Array, at: number, value: number) => {
    const copy = new Uint8Array(bytes)
    copy[at] = value
    return copy
  }

  beforeAll(async () => {
    tpm = await startSoftTpm()
    await tpm.extend(10, PCR10)
    for (const { algorithm, handle } of AKS) {
      const tools = new Tpm2Tools({
        tcti: tpm.tcti,
        akHandle: handle,
        akAlgorithm: algorithm,
        timeoutMs: 10_000
      })
      const nonce = new Uint8Array(randomBytes(16))
      const evidence = await record(tools, nonce)
      recorded.set(algorithm, {
        tools,
        evidence,
        nonce,
        fingerprint: akFingerprint(parsePublic(evidence.akPublic).key)
      })
    }
    const values = await rsassa().tools.pcrRead()
    policy = parsePcrPolicy({
      bank: 'sha256',
      pcrs: Object.fromEntries([...values].map(([pcr, v]) => [String(pcr), [Buffer.from(v).toString('hex')]]))
    })
  })

  afterAll(async () => {
    await tpm?.stop()
  })

  it.each(AKS.map((a) => a.algorithm))('accepts a genuine quote signed by a %s AK', (algorithm) => {
    const r = recorded.get(algorithm) as Recorded
    const verified = verifyQuote(r.evidence, expectations(r))
    expect(verified.akFingerprint).toBe(r.fingerprint)
    expect(verified.pcrValues).toEqual({
      '0': '00'.repeat(32),
      '7': '00'.repeat(32),
      '10': expect.any(String)
    })
  })

  it('reads PCR 10 as the extension of zeros by the measurement, as the TPM computes it', () => {
    const expected = createHash('sha256')
      .update(Buffer.alloc(32))
      .update(Buffer.from(PCR10, 'hex'))
      .digest('hex')
    expect(verifyQuote(rsassa().evidence, expectations(rsassa())).pcrValues['10']).toBe(expected)
  })

  it('parses TPMS_ATTEST: magic, quote type, qualifying data, clock, PCR selection', () => {
    const attest = parseAttest(rsassa().evidence.quote)
    expect(attest.magic).toBe(0xff544347)
    expect(attest.type).toBe(0x8018)
    expect(Buffer.from(attest.extraData)).toEqual(Buffer.from(qualifyingData(PAYLOAD, rsassa().nonce)))
    expect(attest.clockInfo.safe).toBe(true)
    expect(attest.quote?.pcrSelect).toEqual([{ hashAlg: 0x000b, pcrs: [0, 7, 10] }])
    expect(attest.quote?.pcrDigest.byteLength).toBe(32)
  })

  it.each(AKS)(
    'parses the $algorithm AK public key as tpm2_readpublic exports it in PEM',
    async ({ handle, algorithm }) => {
      const dir = mkdtempSync(join(tmpdir(), 'dmn-ak-'))
      try {
        await tpm.run('tpm2_readpublic', ['-c', handle, '-f', 'pem', '-o', join(dir, 'ak.pem'), '-Q'])
        const { createPublicKey } = await import('node:crypto')
        const pem = createPublicKey(readFileSync(join(dir, 'ak.pem'), 'utf8'))
        expect(akFingerprint(pem)).toBe((recorded.get(algorithm) as Recorded).fingerprint)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  )

  // tpm2_checkquote 5.4 given a PEM key checks PKCS#1 v1.5 and ECDSA signatures; the RSAPSS quote is
  // covered by node:crypto alone.
  it.each(AKS.filter((a) => a.algorithm !== 'rsapss'))(
    'agrees with tpm2_checkquote, an independent verifier, on the $algorithm quote',
    async ({ algorithm }) => {
      const r = recorded.get(algorithm) as Recorded
      const dir = mkdtempSync(join(tmpdir(), 'dmn-check-'))
      try {
        const files = {
          ak: join(dir, 'ak.pem'),
          msg: join(dir, 'quote.bin'),
          sig: join(dir, 'sig.bin'),
          bad: join(dir, 'bad.bin')
        }
        writeFileSync(files.ak, parsePublic(r.evidence.akPublic).key.export({ type: 'spki', format: 'pem' }))
        writeFileSync(files.msg, r.evidence.quote)
        writeFileSync(files.sig, r.evidence.signature)
        const last = r.evidence.quote.byteLength - 1
        writeFileSync(files.bad, tamper(r.evidence.quote, last, r.evidence.quote[last]! ^ 1))
        const qualification = Buffer.from(qualifyingData(PAYLOAD, r.nonce)).toString('hex')
        const check = (msg: string) =>
          tpm.run('tpm2_checkquote', [
            '-u',
            files.ak,
            '-m',
            msg,
            '-s',
            files.sig,
            '-g',
            'sha256',
            '-q',
            qualification
          ])
        await expect(check(files.msg)).resolves.toBeDefined()
        await expect(check(files.bad)).rejects.toThrow()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  )

  it('refuses a signature with one byte changed with QuoteSignatureError', () => {
    for (const { algorithm } of AKS) {
      const r = recorded.get(algorithm) as Recorded
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
    const other = recorded.get('ecdsa') as Recorded
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
      const nonce = new Uint8Array(randomBytes(16))
      const evidence = await record(tools, nonce)
      const fingerprint = akFingerprint(parsePublic(evidence.akPublic).key)
      expect(() => verifyQuote(evidence, expectations({ tools, evidence, nonce, fingerprint }))).toThrow(
        expect.objectContaining({ name: 'AkNotRestrictedError' })
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
