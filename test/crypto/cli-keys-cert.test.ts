import { execFileSync, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyRingPath, openKeyRing, verifyNodeCertificate } from '../../node/crypto/index.ts'
import { openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { runCli, waitForExit } from '../helpers/cli.ts'

/** `dmn keys ...` and `dmn cert ...` as an operator runs them, on a real data directory. */

const HOLD_LOCK = fileURLToPath(new URL('./fixtures/hold-lock.ts', import.meta.url))
let dir: string
let env: Record<string, string>
const PASSWORD = 'cli master password'

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-cli-keys-'))
  env = {
    DMN_MASTER_PASSWORD: PASSWORD,
    DMN_DATA_DIR: join(dir, 'data'),
    DMN_CRYPTO_SIGNING_KEY_BITS: '2048',
    DMN_CRYPTO_ENCRYPTION_KEY_BITS: '2048',
    DMN_LOG_LEVEL: 'warn'
  }
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ok = (args: string[], extra: Record<string, string> = {}) => {
  const r = runCli(args, { ...env, ...extra })
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0)
  return r
}

describe('dmn keys', () => {
  it('creates the ring once, 0600, and refuses a second init', () => {
    ok(['keys', 'init'])
    expect(statSync(keyRingPath(env['DMN_DATA_DIR'] as string)).mode & 0o777).toBe(0o600)
    expect(runCli(['keys', 'init'], env).status).toBe(1)
  })

  it('rotates, refuses to retire used versions, rewraps with progress, then retires and destroys', async () => {
    const dataDir = env['DMN_DATA_DIR'] as string
    const ring = await openKeyRing(keyRingPath(dataDir), PASSWORD)
    const db = openDatabase(join(dataDir, 'node.db'))
    migrate(db)
    const plaintexts = Array.from({ length: 7 }, () => randomBytes(40))
    for (const p of plaintexts) {
      const { keyVersion, token } = ring.encrypt(p)
      db.prepare(
        'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, ?, ?, ?, ?)'
      ).run(
        createHash('sha256').update(p).digest('hex'),
        keyVersion,
        Buffer.from(token),
        p.length,
        new Date().toISOString()
      )
    }
    db.close()
    ring.close()

    expect(ok(['keys', 'rotate']).stdout).toContain('version 2')
    const status = JSON.parse(ok(['keys', 'status', '--json']).stdout)
    expect(status.versions.map((v: { items: number }) => v.items)).toEqual([7, 0])
    expect(status.items_to_rewrap).toBe(7)

    expect(runCli(['keys', 'set-minimum', '2'], env).status).toBe(1)
    const rewrap = ok(['keys', 'rewrap', '--batch-size', '3'])
    expect(rewrap.stderr.trim().split('\n')).toEqual([
      'rewrap 0/7 (0%)',
      'rewrap 3/7 (42%)',
      'rewrap 6/7 (85%)',
      'rewrap 7/7 (100%)'
    ])
    ok(['keys', 'set-minimum', '2'])
    expect(ok(['keys', 'destroy-retired']).stdout).toContain('1')
    const after = JSON.parse(ok(['keys', 'status', '--json']).stdout)
    expect(after.versions.map((v: { state: string; items: number }) => [v.state, v.items])).toEqual([
      ['destroyed', 0],
      ['primary', 7]
    ])
    const reopened = await openKeyRing(keyRingPath(dataDir), PASSWORD)
    const db2 = openDatabase(join(dataDir, 'node.db'))
    const rows = db2.prepare('SELECT key_version, ciphertext FROM records ORDER BY id').all() as {
      key_version: number
      ciphertext: Buffer
    }[]
    rows.forEach((r, i) => {
      expect(
        Buffer.from(reopened.decrypt(r.key_version, r.ciphertext.toString())).equals(plaintexts[i] as Buffer)
      ).toBe(true)
    })
    db2.close()
  })

  it('fails on a wrong password or a damaged file without changing the file', () => {
    const path = keyRingPath(env['DMN_DATA_DIR'] as string)
    const before = readFileSync(path)
    expect(runCli(['keys', 'status'], { ...env, DMN_MASTER_PASSWORD: 'wrong' }).status).toBe(1)
    expect(runCli(['keys', 'rotate'], { ...env, DMN_MASTER_PASSWORD: 'wrong' }).status).toBe(1)
    expect(readFileSync(path).equals(before)).toBe(true)
    const damagedDir = join(dir, 'damaged')
    ok(['keys', 'init'], { DMN_DATA_DIR: damagedDir })
    const damagedPath = keyRingPath(damagedDir)
    writeFileSync(
      damagedPath,
      readFileSync(damagedPath, 'utf8').replace('"ciphertext": "', '"ciphertext": "AAAA')
    )
    const damaged = readFileSync(damagedPath)
    const start = runCli(['start'], { ...env, DMN_DATA_DIR: damagedDir })
    expect(start.status).toBe(1)
    expect(start.stderr).toMatch(/^dmn: .+\n$/)
    expect(readFileSync(damagedPath).equals(damaged)).toBe(true)
  })

  it('refuses to change the ring while another live process holds it, and takes over a dead holder lock', async () => {
    const path = keyRingPath(env['DMN_DATA_DIR'] as string)
    const holder = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', HOLD_LOCK, path], {
      stdio: ['ignore', 'pipe', 'inherit']
    })
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve())
        holder.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)))
      })
      expect(runCli(['keys', 'rotate'], env).status).toBe(1)
    } finally {
      holder.kill('SIGKILL')
      await waitForExit(holder)
    }
    // The holder died without releasing: its lock is stale and taken over.
    expect(ok(['keys', 'rotate']).stdout).toContain('version 3')
  })
})

describe('dmn cert', () => {
  it('makes a CSR, a consortium CA, issues and verifies a node certificate that openssl also verifies', () => {
    const csr = join(dir, 'node.csr')
    const caKey = join(dir, 'ca.key')
    const caCert = join(dir, 'ca.pem')
    const cert = join(dir, 'node.pem')
    ok(['cert', 'csr', '--out', csr, '--eth-address', '0x52908400098527886E0F7030069857D2E4169EE7'])
    ok(['cert', 'ca', '--name', 'Test consortium', '--key-out', caKey, '--cert-out', caCert])
    expect(statSync(caKey).mode & 0o777).toBe(0o600)
    ok(['cert', 'issue', '--csr', csr, '--ca-key', caKey, '--ca-cert', caCert, '--out', cert])
    expect(ok(['cert', 'verify', cert, '--ca', caCert]).stdout).toContain('OK')
    expect(runCli(['cert', 'verify', cert], env).status).toBe(1)
    const parsed = verifyNodeCertificate(readFileSync(cert, 'utf8'), {
      caCertificatePems: [readFileSync(caCert, 'utf8')]
    })
    expect(parsed.ethAddress).toBe('0x52908400098527886E0F7030069857D2E4169EE7')
    expect(ok(['cert', 'show', cert]).stdout).toContain(parsed.peerId)
    const openssl = execFileSync('openssl', ['verify', '-CAfile', caCert, cert], { encoding: 'utf8' })
    expect(openssl.trim()).toBe(`${cert}: OK`)
  })

  it('makes a self-signed node certificate for the node PeerId', () => {
    const out = join(dir, 'self.pem')
    ok(['cert', 'self-signed', '--out', out])
    const verified = ok(['cert', 'verify', out]).stdout
    expect(verified).toContain('self-signed')
    expect(verified).toMatch(/peer id\s+12D3KooW/)
  })
})
