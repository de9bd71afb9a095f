import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-apikeys-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('dmn apikeys', () => {
  it('refuses an empty or over-long name as the API does, and stores nothing', () => {
    for (const name of ['', 'n'.repeat(101)]) {
      const r = runCli(['--data-dir', dir, 'apikeys', 'create', '--name', name, '--scopes', 'read'])
      expect(r.status).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    const ok = runCli(['--data-dir', dir, 'apikeys', 'create', '--name', 'n'.repeat(100), '--scopes', 'read'])
    expect(ok.status).toBe(0)
    const listed = JSON.parse(runCli(['--data-dir', dir, 'apikeys', 'list', '--json']).stdout) as {
      name: string
    }[]
    expect(listed.map((k) => k.name)).toEqual(['n'.repeat(100)])
  })

  it('creates a key shown once, lists it without the key, revokes it', () => {
    const created = runCli([
      '--data-dir',
      dir,
      'apikeys',
      'create',
      '--name',
      'ci',
      '--scopes',
      'read',
      '--json'
    ])
    expect(created.status).toBe(0)
    const { key, id, scopes } = JSON.parse(created.stdout) as { key: string; id: string; scopes: string[] }
    expect(key).toMatch(/^dmn_[0-9a-f]{16}_/)
    expect(scopes).toEqual(['read'])

    const list = runCli(['--data-dir', dir, 'apikeys', 'list'])
    expect(list.status).toBe(0)
    expect(list.stdout).toContain(id)
    expect(list.stdout).not.toContain(key)

    const revoked = runCli(['--data-dir', dir, 'apikeys', 'revoke', id])
    expect(revoked.status).toBe(0)
    const after = JSON.parse(runCli(['--data-dir', dir, 'apikeys', 'list', '--json']).stdout) as {
      revoked_at: string | null
    }[]
    expect(after[0]?.revoked_at).toBeTypeOf('string')
  })

  it('exits 2 on an unknown scope and 1 on an unknown id, with one line each', () => {
    const scope = runCli(['--data-dir', dir, 'apikeys', 'create', '--name', 'x', '--scopes', 'root'])
    expect(scope.status).toBe(2)
    expect(scope.stderr.trim().split('\n')).toHaveLength(1)
    const unknown = runCli(['--data-dir', dir, 'apikeys', 'revoke', '0000000000000000'])
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toMatch(/^dmn: no API key with id 0000000000000000/)
  })
})
