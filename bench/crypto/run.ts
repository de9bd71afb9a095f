/**
 * Crypto core benchmark: every figure side by side in one run, measured on this machine.
 *
 *   node bench/crypto/run.ts [--seconds S]     (S: time per measurement, default 1)
 *
 * - Fernet encrypt and decrypt at 1 KiB, 64 KiB and 1 MiB: ours (node:crypto), the `fernet` npm
 *   package, and Debian's Python cryptography timing its own loop in a subprocess.
 * - RSA-PSS sign and verify at 2048, 3072 and 4096 bits next to `openssl speed rsaN` (OpenSSL's raw
 *   RSA private/public operation, PKCS#1 v1.5: the bound for any padding at that size).
 * - Envelope seal and open per tier (3072-bit signing, 4096-bit encryption keys, the defaults) at
 *   1 KiB and 1 MiB.
 * - Key ring unlock (PBKDF2-HMAC-SHA256, 600,000 iterations, then AES-256-GCM of the ring).
 * The last line printed is one JSON object with all figures.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  createKeyRing,
  fernetDecrypt,
  fernetEncrypt,
  generateFernetKey,
  generateRsaKeyPair,
  keyFingerprint,
  openEnvelope,
  openKeyRing,
  type RsaKeyPairPem,
  sealEnvelope,
  signPss,
  verifyPss
} from '../../node/crypto/index.ts'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '1' } } })
const SECONDS = Number(values.seconds)
const SIZES = [
  ['1KiB', 1024],
  ['64KiB', 64 * 1024],
  ['1MiB', 1024 * 1024]
] as const
const BITS = [2048, 3072, 4096] as const

/** Operations per second of `fn`, run for at least SECONDS (and at least 3 times). */
function rate(fn: () => unknown, seconds = SECONDS): number {
  fn()
  let n = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(Math.round(seconds * 1e9))
  let now = start
  while (n < 3 || now < deadline) {
    fn()
    n++
    now = process.hrtime.bigint()
  }
  return n / (Number(now - start) / 1e9)
}

const round = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10)
const out: Record<string, unknown> = { seconds: SECONDS, node: process.version }

// --- Fernet -------------------------------------------------------------------------------------
interface NpmFernet {
  Secret: new (key: string) => unknown
  Token: new (opts: {
    secret: unknown
    ttl?: number
    token?: string
  }) => { encode(m: string): string; decode(t: string): string }
}
const npm = createRequire(import.meta.url)('fernet') as NpmFernet
const key = generateFernetKey()
const secret = new npm.Secret(key)
const py = JSON.parse(
  execFileSync(
    '/usr/bin/python3',
    [
      fileURLToPath(new URL('./pyca_fernet.py', import.meta.url)),
      String(SECONDS),
      ...SIZES.map(([, n]) => String(n))
    ],
    {
      encoding: 'utf8',
      timeout: 600_000
    }
  )
) as Record<string, { encrypt: number; decrypt: number }>
const fernet: Record<string, Record<string, { encrypt: number; decrypt: number }>> = {}
console.log('Fernet (ops/s)            encrypt: ours   npm   python     decrypt: ours   npm   python')
for (const [label, size] of SIZES) {
  const data = randomBytes(size)
  // The npm package takes UTF-8 strings only: it gets an ASCII string of the same byte length.
  const text = 'a'.repeat(size)
  const token = fernetEncrypt(key, data)
  const npmToken = new npm.Token({ secret, ttl: 0 }).encode(text)
  const row = {
    ours: { encrypt: rate(() => fernetEncrypt(key, data)), decrypt: rate(() => fernetDecrypt(key, token)) },
    npm: {
      encrypt: rate(() => new npm.Token({ secret, ttl: 0 }).encode(text)),
      decrypt: rate(() => new npm.Token({ secret, ttl: 0, token: npmToken }).decode(npmToken))
    },
    python: py[String(size)] as { encrypt: number; decrypt: number }
  }
  fernet[label] = row
  const f = (x: number) => String(round(x)).padStart(8)
  console.log(
    `  ${label.padEnd(22)}${f(row.ours.encrypt)}${f(row.npm.encrypt)}${f(row.python.encrypt)}      ${f(row.ours.decrypt)}${f(row.npm.decrypt)}${f(row.python.decrypt)}`
  )
}
out['fernet_ops_per_s'] = fernet

// --- RSA-PSS --------------------------------------------------------------------------------------
const keys = Object.fromEntries(
  await Promise.all(BITS.map(async (b) => [b, await generateRsaKeyPair(b)] as const))
) as Record<(typeof BITS)[number], RsaKeyPairPem>
const speed = execFileSync(
  'openssl',
  ['speed', '-seconds', String(Math.max(1, Math.round(SECONDS))), ...BITS.map((b) => `rsa${b}`)],
  {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 600_000
  }
)
const pss: Record<string, unknown> = {}
console.log('RSA-PSS SHA-256 (ops/s)   sign: ours  openssl     verify: ours  openssl')
for (const bits of BITS) {
  const pair = keys[bits]
  const data = randomBytes(1024)
  const sig = signPss(pair.privateKeyPem, data)
  const line = new RegExp(`rsa\\s+${bits} bits\\s+[\\d.]+s\\s+[\\d.]+s\\s+([\\d.]+)\\s+([\\d.]+)`).exec(speed)
  const row = {
    ours: {
      sign: rate(() => signPss(pair.privateKeyPem, data)),
      verify: rate(() => verifyPss(pair.publicKeyPem, data, sig))
    },
    openssl: { sign: Number(line?.[1]), verify: Number(line?.[2]) }
  }
  pss[String(bits)] = row
  const f = (x: number) => String(round(x)).padStart(8)
  console.log(
    `  ${String(bits).padEnd(20)}${f(row.ours.sign)}${f(row.openssl.sign)}      ${f(row.ours.verify)}${f(row.openssl.verify)}`
  )
}
out['rsa_pss_ops_per_s'] = pss

// --- Envelope ---------------------------------------------------------------------------------------
const signing = keys[3072]
const encryption = keys[4096]
const envelope: Record<string, unknown> = {}
console.log('Envelope, 3072/4096-bit keys (ops/s)   seal 1KiB  open 1KiB   seal 1MiB  open 1MiB')
for (const tier of ['standard', 'high', 'maximum'] as const) {
  const row: Record<string, { seal: number; open: number }> = {}
  for (const [label, size] of [SIZES[0], SIZES[2]]) {
    const plaintext = randomBytes(size)
    const seal = () =>
      sealEnvelope({
        header: {
          shareId: randomBytes(16).toString('hex'),
          sender: '12D3KooWBenchSender',
          recipient: '12D3KooWBenchRecipient',
          tier,
          senderKeyId: keyFingerprint(signing.publicKeyPem),
          recipientKeyId: keyFingerprint(encryption.publicKeyPem)
        },
        plaintext,
        senderSigningPrivateKeyPem: signing.privateKeyPem,
        recipientEncryptionPublicKeyPem: encryption.publicKeyPem
      }).bytes
    const bytes = seal()
    const open = () =>
      openEnvelope(bytes, {
        senderSigningPublicKeyPem: signing.publicKeyPem,
        recipientEncryptionPrivateKeyPem: encryption.privateKeyPem,
        expectedRecipient: '12D3KooWBenchRecipient'
      })
    row[label] = { seal: rate(seal), open: rate(open) }
  }
  envelope[tier] = row
  const f = (x: number | undefined) => String(round(x ?? 0)).padStart(11)
  console.log(
    `  ${tier.padEnd(36)}${f(row['1KiB']?.seal)}${f(row['1KiB']?.open)}${f(row['1MiB']?.seal)}${f(row['1MiB']?.open)}`
  )
}
out['envelope_ops_per_s'] = envelope

// --- Key ring unlock --------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'dmn-bench-ring-'))
try {
  const path = join(dir, 'keyring.json')
  ;(await createKeyRing(path, 'bench password', { identity: { signing, encryption } })).close()
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint()
    ;(await openKeyRing(path, 'bench password')).close()
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  times.sort((a, b) => a - b)
  const median = times[2] as number
  console.log(`Key ring unlock (PBKDF2-HMAC-SHA256 600,000 iterations): median ${round(median)} ms of 5`)
  out['keyring_unlock_ms'] = round(median)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const rounded = JSON.parse(JSON.stringify(out, (_k, v) => (typeof v === 'number' ? round(v) : v)))
console.log(JSON.stringify(rounded))
