import { readFileSync } from 'node:fs'
import { ATTESTED_PCR_BANK, ATTESTED_PCRS } from './constants.ts'
import { PcrPolicyFileError } from './errors.ts'

/**
 * The operator's known-good baseline: for each attested PCR, the values accepted (several when a
 * fleet runs more than one approved firmware or boot chain). File format (JSON):
 * `{ "bank": "sha256", "pcrs": { "0": ["<64 hex>", ...], "7": [...], "10": [...] } }`.
 */
export interface PcrPolicy {
  readonly bank: string
  /** Accepted values per PCR index, lower-case hex. */
  readonly pcrs: ReadonlyMap<number, ReadonlySet<string>>
}

/** Validates a policy object; every attested PCR must be listed, so nothing passes unchecked. */
export function parsePcrPolicy(value: unknown, source = 'PCR policy'): PcrPolicy {
  const problems: string[] = []
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new PcrPolicyFileError(`${source}: expected a JSON object`)
  const raw = value as Record<string, unknown>
  if (raw['bank'] !== ATTESTED_PCR_BANK) problems.push(`bank must be "${ATTESTED_PCR_BANK}"`)
  const pcrs = new Map<number, Set<string>>()
  const entries = raw['pcrs']
  if (entries === null || typeof entries !== 'object' || Array.isArray(entries)) {
    problems.push('pcrs must be an object of PCR index to a list of hex values')
  } else {
    for (const [index, values] of Object.entries(entries)) {
      const pcr = Number(index)
      if (!/^\d{1,2}$/.test(index) || pcr > 23) {
        problems.push(`pcrs.${index}: not a PCR index (0-23)`)
        continue
      }
      if (!Array.isArray(values) || values.length === 0) {
        problems.push(`pcrs.${index}: expected a non-empty list of values`)
        continue
      }
      const accepted = new Set<string>()
      for (const v of values) {
        if (typeof v === 'string' && /^[0-9a-fA-F]{64}$/.test(v)) accepted.add(v.toLowerCase())
        else problems.push(`pcrs.${index}: ${JSON.stringify(v)} is not 64 hex digits`)
      }
      pcrs.set(pcr, accepted)
    }
    for (const pcr of ATTESTED_PCRS) if (!pcrs.has(pcr)) problems.push(`pcrs.${pcr}: missing (attested PCR)`)
  }
  if (problems.length > 0) throw new PcrPolicyFileError(`${source}: ${problems.join('; ')}`)
  return { bank: ATTESTED_PCR_BANK, pcrs }
}

/** Reads and validates a policy file. */
export function loadPcrPolicy(file: string): PcrPolicy {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new PcrPolicyFileError(`PCR policy ${file} cannot be read`, { cause: err })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new PcrPolicyFileError(`PCR policy ${file} is not valid JSON`, { cause: err })
  }
  return parsePcrPolicy(value, `PCR policy ${file}`)
}

/** A policy accepting exactly the given values (`dmn attest baseline` writes it from a known-good node). */
export function policyFromValues(values: ReadonlyMap<number, string>): Record<string, unknown> {
  const pcrs: Record<string, string[]> = {}
  for (const [pcr, value] of [...values].sort((a, b) => a[0] - b[0]))
    pcrs[String(pcr)] = [value.toLowerCase()]
  return { bank: ATTESTED_PCR_BANK, pcrs }
}
