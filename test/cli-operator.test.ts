import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freePort } from '../node/audit/embedded-chain.ts'
import { cleanEnv, PROJECT_ROOT, runCli } from './helpers/cli.ts'

/** What an operator meets first on the command line: usage errors, help, pipes, env files. */

const tempDir = () => mkdtempSync(join(tmpdir(), 'dmn-cli-op-'))
const CLI = join(PROJECT_ROOT, 'node/cli/main.ts')

/** Small keys and the minimum PBKDF2 work: these tests are about the CLI, not the crypto. */
const QUICK_KEYS = { DMN_CRYPTO_SIGNING_KEY_BITS: '2048', DMN_CRYPTO_ENCRYPTION_KEY_BITS: '2048' }

describe('dmn usage errors and help', () => {
  it("writes commander's own errors as one `dmn:` line with exit code 2", () => {
    for (const args of [
      ['frobnicate'],
      ['config', 'show', '--no-such-flag'],
      ['bench'],
      ['apikeys', 'create']
    ]) {
      const result = runCli(args)
      expect(result.status).toBe(2)
      const lines = result.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^dmn: /)
      expect(result.stderr).not.toContain('error:')
    }
  })

  it('answers `dmn help help`, `dmn help <command> <subcommand>` and `dmn keys help init` with exit code 0', () => {
    const helpHelp = runCli(['help', 'help'])
    expect(helpHelp.status).toBe(0)
    expect(helpHelp.stdout).toMatch(/^Usage: dmn help /)
    const nested = runCli(['help', 'keys', 'init'])
    expect(nested.status).toBe(0)
    expect(nested.stdout).toMatch(/^Usage: dmn keys init /)
    const inGroup = runCli(['keys', 'help', 'init'])
    expect(inGroup.status).toBe(0)
    expect(inGroup.stdout).toMatch(/^Usage: dmn keys init /)
    const all = runCli(['help'])
    expect(all.status).toBe(0)
    expect(all.stdout).toContain('start')
    expect(all.stdout).toContain('id')
  })

  it('refuses help for an unknown command with one `dmn:` line and exit code 2', () => {
    const result = runCli(['help', 'keys', 'frobnicate'])
    expect(result.status).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^dmn: unknown command 'keys frobnicate'/)
    ])
  })

  it('names the first settings in `dmn start --help`', () => {
    const result = runCli(['start', '--help'])
    expect(result.status).toBe(0)
    for (const name of [
      'DMN_MASTER_PASSWORD',
      'DMN_DATA_DIR',
      'DMN_P2P_PORT',
      'DMN_P2P_BOOTSTRAP',
      'DMN_API_INTERNAL_PORT',
      'DMN_API_EXTERNAL_PORT',
      'DMN_CHAIN_RPC_URL',
      'DMN_CHAIN_PRIVATE_KEY',
      'DMN_CHAIN_CONTRACT_ADDRESS',
      '--env-file'
    ])
      expect(result.stdout).toContain(name)
  })
})

describe('dmn output into a closed pipe', () => {
  it('ends quietly with exit code 0 when the reader of stdout has gone (`dmn keys show | head -1`)', async () => {
    const env = { ...QUICK_KEYS, DMN_MASTER_PASSWORD: 'correct horse', DMN_DATA_DIR: tempDir() }
    expect(runCli(['keys', 'init'], env).status).toBe(0)
    const child = spawn(
      process.execPath,
      ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', CLI, '--', 'keys', 'show'],
      { cwd: PROJECT_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }
    )
    // Closed before the CLI has written anything: its first write meets EPIPE, as `head -1`'s exit does.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk)
    })
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    expect(stderr).toBe('')
    expect(code).toBe(0)
  })
})

describe('env files', () => {
  it('reads --env-file, with the environment winning over it and its DMN_ typos refused', () => {
    const dir = tempDir()
    const file = join(dir, 'node.env')
    writeFileSync(file, 'DMN_P2P_PORT=4601\nDMN_CHAIN_MODE=batch\nKEY_MASTER_PASSWORD="from the file"\n')
    const shown = runCli(['--env-file', file, 'config', 'show'], { P2P_PORT: '4602' })
    expect(shown.status).toBe(0)
    const config = JSON.parse(shown.stdout) as { p2p: { port: number }; chain: { mode: string } }
    expect(config.p2p.port).toBe(4602)
    expect(config.chain.mode).toBe('batch')
    expect(shown.stdout).not.toContain('from the file')

    writeFileSync(file, 'DMN_P2P_PROT=4601\n')
    const typo = runCli(['--env-file', file, 'config', 'check'])
    expect(typo.status).toBe(2)
    expect(typo.stderr).toContain(`DMN_P2P_PROT in ${file}: not a setting of this node`)

    const missing = runCli(['--env-file', join(dir, 'absent.env'), 'config', 'check'])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(
      /^dmn: invalid configuration: env file .*absent\.env: cannot be read \(ENOENT\)/
    )
  })

  it('reads .env from the working directory when present, and --env-file instead of it', () => {
    const dir = tempDir()
    writeFileSync(join(dir, '.env'), 'DMN_P2P_PORT=4701\n')
    const fromDotEnv = runCli(['config', 'show'], {}, { cwd: dir })
    expect((JSON.parse(fromDotEnv.stdout) as { p2p: { port: number } }).p2p.port).toBe(4701)
    writeFileSync(join(dir, 'other.env'), 'DMN_P2P_PORT=4702\n')
    const explicit = runCli(['--env-file', 'other.env', 'config', 'show'], {}, { cwd: dir })
    expect((JSON.parse(explicit.stdout) as { p2p: { port: number } }).p2p.port).toBe(4702)
    const without = runCli(['config', 'show'], {}, { cwd: tempDir() })
    expect((JSON.parse(without.stdout) as { p2p: { port: number } }).p2p.port).toBe(4001)
  })
})

describe('dmn id without a node', () => {
  it('reads the key ring when no node answers, and says the PeerId and account come at first start', async () => {
    // A port nothing listens on (no node runs), so the key ring is read.
    const port = String(await freePort())
    const env = {
      ...QUICK_KEYS,
      DMN_MASTER_PASSWORD: 'correct horse',
      DMN_DATA_DIR: tempDir(),
      DMN_API_INTERNAL_PORT: port
    }
    expect(runCli(['id'], env).stderr).toMatch(
      /^dmn: no node answers and there is no key ring at .*`dmn keys init`/
    )
    expect(runCli(['keys', 'init'], env).status).toBe(0)
    const result = runCli(['id', '--json'], env)
    expect(result.status).toBe(0)
    const id = JSON.parse(result.stdout) as Record<string, unknown>
    expect(id).toMatchObject({
      source: 'key-ring',
      listening: false,
      peer_id: null,
      eth_address: null,
      addresses: []
    })
    expect(id['signing_key_fingerprint']).toMatch(/^[0-9a-f]{64}$/)
    const shown = runCli(['keys', 'show'], env).stdout
    expect(shown).toContain(id['signing_key_fingerprint'])
    const refused = runCli(['id', '--api', `http://127.0.0.1:${port}`], env)
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(
      /^dmn: no node listens at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/
    )
  })
})
