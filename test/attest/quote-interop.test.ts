import { createHash, createPublicKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  akFingerprint,
  parseAttest,
  parsePublic,
  qualifyingData,
  verifyQuote
} from '../../node/attest/index.ts'
import {
  AKS,
  expectationsFor,
  PAYLOAD,
  PCR10,
  type Recorded,
  type RecordedQuotes,
  recordQuotes,
  tamper
} from './recorded-quotes.ts'
import { type SoftTpm, startSoftTpm } from './swtpm.ts'

describe('TPM 2.0 structures as swtpm and tpm2-tools see them', () => {
  let tpm: SoftTpm
  let quotes: RecordedQuotes
  const rsassa = () => quotes.byAlgorithm.get('rsassa') as Recorded
  const expectations = (r: Recorded) => expectationsFor(r, quotes.policy)

  beforeAll(async () => {
    tpm = await startSoftTpm()
    quotes = await recordQuotes(tpm)
  })

  afterAll(async () => {
    await tpm?.stop()
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
        const pem = createPublicKey(readFileSync(join(dir, 'ak.pem'), 'utf8'))
        expect(akFingerprint(pem)).toBe((quotes.byAlgorithm.get(algorithm) as Recorded).fingerprint)
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
      const r = quotes.byAlgorithm.get(algorithm) as Recorded
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
})
