import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isAlive, runCli, spawnCli, waitForExit, waitForLog } from './helpers/cli.ts'

const tempDir = () => mkdtempSync(join(tmpdir(), 'dmn-cli-'))

describe('dmn command line', () => {
  it('prints help and version with exit code 0', () => {
    const help = runCli(['--help'])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('Usage: dmn')
    for (const command of ['start', 'config', 'db', 'test']) expect(help.stdout).toContain(command)
    const version = runCli(['--version'])
    expect(version.status).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('exits 2 on an unknown command or option', () => {
    expect(runCli(['frobnicate']).status).toBe(2)
    expect(runCli(['config', 'show', '--no-such-flag']).status).toBe(2)
  })

  it('exits 2 with one line naming every configuration problem', () => {
    const result = runCli(['config', 'check'], { P2P_PORT: 'high', DMN_CHAIN_MODE: 'never' })
    expect(result.status).toBe(2)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^dmn: invalid configuration \(2 problems\): /)
    expect(lines[0]).toContain('p2p.port (from P2P_PORT)')
    expect(lines[0]).toContain('chain.mode (from DMN_CHAIN_MODE)')
  })

  it('shows the configuration with secrets redacted', () => {
    const result = runCli(['config', 'show'], {
      KEY_MASTER_PASSWORD: 'correct horse',
      PRIVATE_KEY: 'cd'.repeat(32)
    })
    expect(result.status).toBe(0)
    const shown = JSON.parse(result.stdout) as Record<string, unknown>
    expect(shown['masterPassword']).toBe('[redacted]')
    expect(result.stdout).not.toContain('correct horse')
    expect(result.stdout).not.toContain('cd'.repeat(32))
  })

  it('refuses to start without a master password: one line, exit 2, nothing written', () => {
    const dataDir = join(tempDir(), 'data')
    const result = runCli(['start', '--data-dir', dataDir])
    expect(result.status).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^dmn: no master password: set KEY_MASTER_PASSWORD/)
    ])
    expect(existsSync(dataDir)).toBe(false)
  })

  it('exits 1 with one line on a runtime failure, and shows the stack only with --verbose', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'node.db'), 'definitely not a database '.repeat(200))
    const plain = runCli(['db', 'status', '--data-dir', dir])
    expect(plain.status).toBe(1)
    expect(plain.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^dmn: cannot open database .*node\.db/)
    ])
    const verbose = runCli(['--verbose', 'db', 'status', '--data-dir', dir])
    expect(verbose.status).toBe(1)
    expect(verbose.stderr).toMatch(/DatabaseOpenError[\s\S]*\n\s+at /)
  })

  it('migrates and reports status through db commands', () => {
    const dir = tempDir()
    expect(runCli(['db', 'status', '--data-dir', dir]).stdout).toMatch(/0001_initial\s+pending/)
    const migrated = runCli(['db', 'migrate', '--data-dir', dir])
    expect(migrated.status).toBe(0)
    expect(migrated.stdout).toContain('applied 0001_initial')
    expect(runCli(['db', 'migrate', '--data-dir', dir]).stdout).toContain('database is up to date')
    expect(runCli(['db', 'status', '--data-dir', dir]).stdout).toMatch(/0001_initial\s+applied/)
  })
})

describe('dmn start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`logs ready, stops cleanly on ${signal} and leaves no process behind`, async () => {
      const dataDir = tempDir()
      // Port 0 everywhere: the test must not collide with anything else listening on this machine.
      const child = spawnCli(['start', '--data-dir', dataDir], {
        KEY_MASTER_PASSWORD: 'test-password',
        DMN_P2P_PORT: '0',
        DMN_API_INTERNAL_PORT: '0',
        DMN_API_EXTERNAL_PORT: '0'
      })
      const ready = await waitForLog(child, 'node ready')
      expect(ready['dataDir']).toBe(dataDir)
      const stopped = waitForLog(child, 'stopped')
      child.kill(signal)
      await stopped
      expect(await waitForExit(child)).toEqual({ code: 0, signal: null })
      expect(isAlive(child.pid as number)).toBe(false)
      // The database was checkpointed and closed: no write-ahead log content is left behind.
      const wal = join(dataDir, 'node.db-wal')
      expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true)
    })
  }
})
