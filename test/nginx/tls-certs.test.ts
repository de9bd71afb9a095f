import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

/** scripts/tls-certs.sh, checked with openssl itself. */

const SCRIPT = join(import.meta.dirname, '../../scripts/tls-certs.sh')
let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-tls-certs-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const run = (...args: string[]) => spawnSync('bash', [SCRIPT, '--out', dir, ...args], { encoding: 'utf8' })
const openssl = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' })
const mode = (file: string) => statSync(join(dir, file)).mode & 0o777

describe('scripts/tls-certs.sh', () => {
  it('makes a self-signed certificate for the host and its SANs, with a 0600 key', () => {
    const r = run('--san', '127.0.0.1', '--san', 'api.example.org', 'dmn.example.org')
    expect(r.status, r.stderr).toBe(0)
    expect(mode('dmn.example.org.key')).toBe(0o600)
    const crt = join(dir, 'dmn.example.org.crt')
    const text = openssl('x509', '-in', crt, '-noout', '-text').stdout
    expect(text).toContain('DNS:dmn.example.org, IP Address:127.0.0.1, DNS:api.example.org')
    expect(text).toContain('TLS Web Server Authentication')
    expect(text).toMatch(/CA:FALSE/)
    expect(openssl('verify', '-CAfile', crt, crt).status).toBe(0)
    // The key is the certificate's.
    const fromKey = openssl('pkey', '-in', join(dir, 'dmn.example.org.key'), '-pubout').stdout
    const fromCrt = openssl('x509', '-in', crt, '-noout', '-pubkey').stdout
    expect(fromKey).toBe(fromCrt)
  })

  it('makes a local CA and a server certificate it signs, and reuses the CA for the next host', () => {
    expect(run('--ca', 'a.example.org').status).toBe(0)
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8')
    expect(mode('ca.key')).toBe(0o600)
    expect(mode('a.example.org.key')).toBe(0o600)
    expect(run('--ca', 'b.example.org').status).toBe(0)
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(ca)
    for (const host of ['a.example.org', 'b.example.org']) {
      const v = openssl(
        'verify',
        '-CAfile',
        join(dir, 'ca.crt'),
        '-verify_hostname',
        host,
        join(dir, `${host}.crt`)
      )
      expect(v.status, v.stderr).toBe(0)
      expect(readFileSync(join(dir, `${host}.fullchain.pem`), 'utf8')).toBe(
        readFileSync(join(dir, `${host}.crt`), 'utf8') + ca
      )
    }
    const wrongName = openssl(
      'verify',
      '-CAfile',
      join(dir, 'ca.crt'),
      '-verify_hostname',
      'c.example.org',
      join(dir, 'a.example.org.crt')
    )
    expect(wrongName.status).not.toBe(0)
  })

  it('keeps existing files unless --force, and refuses names that are not host names', () => {
    expect(run('dmn.example.org').status).toBe(0)
    const before = readFileSync(join(dir, 'dmn.example.org.key'))
    expect(run('dmn.example.org').status).toBe(1)
    expect(readFileSync(join(dir, 'dmn.example.org.key'))).toEqual(before)
    expect(run('--force', 'dmn.example.org').status).toBe(0)
    expect(readFileSync(join(dir, 'dmn.example.org.key'))).not.toEqual(before)
    expect(run('bad;name').status).toBe(2)
    expect(run('--san', 'x y', 'ok.example.org').status).toBe(2)
    expect(run().status).toBe(2)
  })
})
