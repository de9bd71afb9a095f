import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AkAlgorithm,
  akFingerprint,
  parsePcrPolicy,
  parsePublic,
  qualifyingData,
  Tpm2Tools,
  verifyQuote
} from '../../node/attest/index.ts'
import { startSoftTpm } from '../../test/attest/swtpm.ts'

/**
 * Quote verification per second (node:crypto, in process) beside quote production by swtpm through
 * tpm2-tools and verification by `tpm2_checkquote` (one process per check, as a shell script would),
 * for each AK algorithm, in one run. Last line: one JSON object with the figures.
 * Usage: node bench/attest/quote-verify.ts [--seconds S] [--quotes N]
 */

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const seconds = arg('--seconds', 2)
const quotes = arg('--quotes', 20)
const PAYLOAD = randomBytes(16).toString('hex')

const tpm = await startSoftTpm()
const dir = mkdtempSync(join(tmpdir(), 'dmn-bench-attest-'))
const results: Record<string, Record<string, number>> = {}
try {
  await tpm.extend(10, 'ab'.repeat(32))
  const algorithms: readonly [AkAlgorithm, string][] = [
    ['rsassa', '0x81010010'],
    ['rsapss', '0x81010011'],
    ['ecdsa', '0x81010012']
  ]
  for (const [algorithm, akHandle] of algorithms) {
    const tools = new Tpm2Tools({ tcti: tpm.tcti, akHandle, akAlgorithm: algorithm, timeoutMs: 10_000 })
    const akPublic = await tools.ensureAk()
    const nonce = new Uint8Array(randomBytes(16))
    const q = qualifyingData(PAYLOAD, nonce)
    let quote = await tools.quote(q)
    const started = performance.now()
    for (let i = 0; i < quotes; i++) quote = await tools.quote(q)
    const quotesPerSecond = quotes / ((performance.now() - started) / 1000)

    const evidence = { akPublic, quote: quote.quote, signature: quote.signature, pcrValues: quote.pcrValues }
    const hex = (v: Uint8Array) => Buffer.from(v).toString('hex')
    const policy = parsePcrPolicy({
      bank: 'sha256',
      pcrs: Object.fromEntries([...quote.pcrValues].map(([pcr, v]) => [String(pcr), [hex(v)]]))
    })
    const expect = {
      qualifyingData: q,
      policy,
      enrolledAkFingerprint: akFingerprint(parsePublic(akPublic).key)
    }
    let verified = 0
    const end = performance.now() + seconds * 1000
    const vStart = performance.now()
    while (performance.now() < end) {
      verifyQuote(evidence, expect)
      verified++
    }
    const verifiesPerSecond = verified / ((performance.now() - vStart) / 1000)

    let checkquotePerSecond = Number.NaN
    // tpm2_checkquote 5.4 with a PEM key checks PKCS#1 v1.5 and ECDSA quotes only.
    if (algorithm !== 'rsapss') {
      const files = { ak: join(dir, 'ak.pem'), msg: join(dir, 'q.bin'), sig: join(dir, 's.bin') }
      writeFileSync(files.ak, parsePublic(akPublic).key.export({ type: 'spki', format: 'pem' }))
      writeFileSync(files.msg, quote.quote)
      writeFileSync(files.sig, quote.signature)
      const n = Math.max(5, Math.floor(quotes / 2))
      const cStart = performance.now()
      for (let i = 0; i < n; i++)
        await tpm.run('tpm2_checkquote', [
          '-u',
          files.ak,
          '-m',
          files.msg,
          '-s',
          files.sig,
          '-g',
          'sha256',
          '-q',
          hex(q)
        ])
      checkquotePerSecond = n / ((performance.now() - cStart) / 1000)
    }
    results[algorithm] = { verifiesPerSecond, quotesPerSecond, checkquotePerSecond }
  }
} finally {
  await tpm.stop()
  rmSync(dir, { recursive: true, force: true })
}

const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1))
console.log(
  '| AK | verify, ours (quotes/s) | tpm2_checkquote (quotes/s) | swtpm quote via tpm2_quote (quotes/s) |'
)
console.log('|---|---|---|---|')
for (const [algorithm, r] of Object.entries(results))
  console.log(
    `| ${algorithm} | ${fmt(r['verifiesPerSecond'])} | ${fmt(r['checkquotePerSecond'])} | ${fmt(r['quotesPerSecond'])} |`
  )
console.log(JSON.stringify({ bench: 'attest', seconds, quotes, results }))
