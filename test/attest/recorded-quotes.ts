import { createHash, randomBytes } from 'node:crypto'
import {
  type AkAlgorithm,
  type AttestationEvidence,
  akFingerprint,
  parsePcrPolicy,
  parsePublic,
  type PcrPolicy,
  type QuoteExpectations,
  qualifyingData,
  Tpm2Tools
} from '../../node/attest/index.ts'
import type { SoftTpm } from './swtpm.ts'

/** Quotes recorded from a real swtpm during the test run; every tamper case starts from a genuine one. */

export const PCR10 = createHash('sha256').update('dmn boot measurement').digest('hex')
export const PAYLOAD = randomBytes(16).toString('hex')
export const AKS: readonly { algorithm: AkAlgorithm; handle: string }[] = [
  { algorithm: 'rsassa', handle: '0x81010010' },
  { algorithm: 'rsapss', handle: '0x81010011' },
  { algorithm: 'ecdsa', handle: '0x81010012' }
]

export interface Recorded {
  readonly tools: Tpm2Tools
  readonly evidence: AttestationEvidence
  readonly nonce: Uint8Array
  readonly fingerprint: string
}

export interface RecordedQuotes {
  readonly byAlgorithm: ReadonlyMap<AkAlgorithm, Recorded>
  /** The policy that accepts the swtpm's PCRs as they are. */
  readonly policy: PcrPolicy
}

/** One fresh quote by `tools`' AK (created if missing) for PAYLOAD and `nonce`. */
export async function recordQuote(tools: Tpm2Tools, nonce: Uint8Array): Promise<Recorded> {
  const akPublic = await tools.ensureAk()
  const quote = await tools.quote(qualifyingData(PAYLOAD, nonce))
  const evidence = { akPublic, quote: quote.quote, signature: quote.signature, pcrValues: quote.pcrValues }
  return { tools, evidence, nonce, fingerprint: akFingerprint(parsePublic(akPublic).key) }
}

/** Extends PCR 10 like a boot measurement, then records a quote per AK algorithm. */
export async function recordQuotes(tpm: SoftTpm): Promise<RecordedQuotes> {
  await tpm.extend(10, PCR10)
  const byAlgorithm = new Map<AkAlgorithm, Recorded>()
  for (const { algorithm, handle } of AKS) {
    const tools = new Tpm2Tools({
      tcti: tpm.tcti,
      akHandle: handle,
      akAlgorithm: algorithm,
      timeoutMs: 10_000
    })
    byAlgorithm.set(algorithm, await recordQuote(tools, new Uint8Array(randomBytes(16))))
  }
  const values = await (byAlgorithm.get('rsassa') as Recorded).tools.pcrRead()
  const policy = parsePcrPolicy({
    bank: 'sha256',
    pcrs: Object.fromEntries([...values].map(([pcr, v]) => [String(pcr), [Buffer.from(v).toString('hex')]]))
  })
  return { byAlgorithm, policy }
}

/** What the verifier expects for `r`'s challenge, with `overrides`. */
export function expectationsFor(
  r: Recorded,
  policy: PcrPolicy,
  overrides: Partial<QuoteExpectations> = {}
): QuoteExpectations {
  return {
    qualifyingData: qualifyingData(PAYLOAD, r.nonce),
    policy,
    enrolledAkFingerprint: r.fingerprint,
    ...overrides
  }
}

/** A copy of `bytes` with the byte at `at` set to `value`. */
export function tamper(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = new Uint8Array(bytes)
  copy[at] = value
  return copy
}
