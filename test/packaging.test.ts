import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT, runCli } from './helpers/cli.ts'

/**
 * packaging/systemd/dmn.service, checked by systemd's own tools offline (`systemd-analyze verify`
 * and `security --offline`), its hardening and credential settings, the settings it gives the node
 * read by the node's config loader as systemd would hand them over, and the LICENSE file.
 */

const UNIT = join(PROJECT_ROOT, 'packaging', 'systemd', 'dmn.service')
const INSTALLED_DMN = '/opt/dmn/dmn'
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).error === undefined

/** Each key of the unit with its values, in order (a key may be given more than once). */
function directives(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim())
    if (!match) continue
    const [, key, value] = match as unknown as [string, string, string]
    found.set(key, [...(found.get(key) ?? []), value])
  }
  return found
}

/** A copy of the unit whose ExecStart is this checkout's `dmn` (verify needs the program to exist). */
function unitCopy(edit: (text: string) => string = (t) => t): string {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-unit-'))
  const file = join(dir, 'dmn.service')
  writeFileSync(file, edit(readFileSync(UNIT, 'utf8').replaceAll(INSTALLED_DMN, join(PROJECT_ROOT, 'dmn'))))
  return file
}

describe('the systemd unit', () => {
  const unit = readFileSync(UNIT, 'utf8')
  const keys = directives(unit)

  it.skipIf(!hasAnalyze)(
    `passes systemd-analyze verify without a warning${hasAnalyze ? '' : ' (skipped: systemd-analyze is not installed)'}`,
    () => {
      const result = spawnSync('systemd-analyze', ['verify', unitCopy()], { encoding: 'utf8' })
      expect([result.status, result.stderr]).toEqual([0, ''])
      // The same check fails on a unit whose program is missing: it runs for real.
      const broken = unitCopy((t) => t.replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/dmn'))
      expect(spawnSync('systemd-analyze', ['verify', broken], { encoding: 'utf8' }).status).not.toBe(0)
    }
  )

  it.skipIf(!hasAnalyze)(
    `rates as low exposure in systemd-analyze security${hasAnalyze ? '' : ' (skipped: systemd-analyze is not installed)'}`,
    () => {
      const result = spawnSync('systemd-analyze', ['security', '--offline=yes', unitCopy()], {
        encoding: 'utf8'
      })
      const level = /Overall exposure level for dmn\.service: ([\d.]+)/.exec(result.stdout)
      expect(level, result.stdout + result.stderr).not.toBeNull()
      expect(Number(level?.[1])).toBeLessThanOrEqual(2)
    }
  )

  it('is hardened and keeps the master password in a credential, out of the unit and the environment', () => {
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['CapabilityBoundingSet', ''],
      ['StateDirectory', 'dmn'],
      ['SystemCallFilter', '@system-service'],
      ['User', 'dmn'],
      ['LoadCredential', 'master-password:/etc/dmn/master-password']
    ] as const)
      expect([key, keys.get(key)]).toEqual([key, expect.arrayContaining([value])])
    expect(keys.get('RestrictAddressFamilies')?.[0]?.split(' ').sort()).toEqual([
      'AF_INET',
      'AF_INET6',
      'AF_NETLINK',
      'AF_UNIX'
    ])
    expect(keys.get('ExecStart')).toEqual([`${INSTALLED_DMN} start`])
    expect(unit).not.toMatch(/^Environment=.*(DMN_MASTER_PASSWORD|KEY_MASTER_PASSWORD)=/m)
  })

  it("gives the node settings its config loader reads, the password from systemd's credentials directory", () => {
    const env: Record<string, string> = {}
    for (const line of keys.get('Environment') ?? []) {
      const [name, ...value] = line.split('=')
      env[name as string] = value.join('=')
    }
    expect(env['DMN_MASTER_PASSWORD_FILE']).toBe('master-password')
    // As systemd starts it: the credential copied into $CREDENTIALS_DIRECTORY, the state directory made.
    const credentials = mkdtempSync(join(tmpdir(), 'dmn-credentials-'))
    writeFileSync(join(credentials, 'master-password'), 'the operator passphrase\n', { mode: 0o400 })
    const state = mkdtempSync(join(tmpdir(), 'dmn-state-'))
    const check = runCli(['config', 'check'], {
      ...env,
      DMN_DATA_DIR: state,
      CREDENTIALS_DIRECTORY: credentials
    })
    expect([check.status, check.stderr, check.stdout.trim()]).toEqual([
      0,
      '',
      `configuration ok (data dir ${state})`
    ])
  })
})

describe('the licence', () => {
  it('is the one package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { license: string }
    expect(pkg.license).toBe('MIT')
    const text = readFileSync(join(PROJECT_ROOT, 'LICENSE'), 'utf8')
    expect(text.split('\n')[0]).toBe('MIT License')
    expect(text).toContain('Permission is hereby granted, free of charge, to any person obtaining a copy')
    expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND')
  })
})
