import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../node/core/errors.ts'
import { loadConfig, readEnvFile, redactConfig } from './index.ts'

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

function tempFile(content: string, name = 'config.json'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'dmn-config-')), name)
  writeFileSync(path, content)
  return path
}

describe('loadConfig', () => {
  it('fills every setting from defaults when nothing is given', () => {
    const config = loadConfig({ env: {} })
    expect(config.dataDir).toBe('./data')
    expect(config.masterPassword).toBeUndefined()
    expect(config.store.synchronous).toBe('FULL')
    expect(config.crypto.pbkdf2Iterations).toBe(600_000)
    expect(config.p2p).toMatchObject({ host: '0.0.0.0', port: 4001, bootstrap: [] })
    expect(config.api.internal).toEqual({
      host: '127.0.0.1',
      port: 8080,
      rateLimit: { perSecond: 50, burst: 100 },
      allowedHosts: []
    })
    expect(config.api.external).toEqual({
      host: '0.0.0.0',
      port: 8081,
      rateLimit: { perSecond: 10, burst: 20 },
      openAnchorReads: false
    })
    expect(config.api.trustedProxies).toEqual([])
    expect(config.chain.rpcUrl).toBeUndefined()
  })

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ env: {} })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.api.external.rateLimit)).toBe(true)
  })

  it('reads DataMgmt Node variable names and converts their types', () => {
    const config = loadConfig({
      env: {
        KEY_MASTER_PASSWORD: 'pw',
        DATA_DIR: '/srv/dmn',
        P2P_PORT: '4100',
        INITIAL_PEERS: '/ip4/10.0.0.2/tcp/4001, /dns4/peer.example/tcp/4001',
        BLOCKCHAIN_URL: 'http://127.0.0.1:8545',
        PRIVATE_KEY: `0x${'11'.repeat(32)}`
      }
    })
    expect(config.masterPassword).toBe('pw')
    expect(config.dataDir).toBe('/srv/dmn')
    expect(config.p2p.port).toBe(4100)
    expect(config.p2p.bootstrap).toEqual(['/ip4/10.0.0.2/tcp/4001', '/dns4/peer.example/tcp/4001'])
    expect(config.chain.rpcUrl).toBe('http://127.0.0.1:8545')
    expect(config.chain.privateKey).toBe(`0x${'11'.repeat(32)}`)
  })

  it('lets a DMN_ name win over the anchor name, and the environment over the file', () => {
    const file = tempFile(JSON.stringify({ p2p: { port: 4200 }, logLevel: 'debug' }))
    const config = loadConfig({ file, env: { P2P_PORT: '4300', DMN_P2P_PORT: '4400' } })
    expect(config.p2p.port).toBe(4400)
    expect(config.logLevel).toBe('debug')
  })

  it('takes the file from DMN_CONFIG', () => {
    const file = tempFile(JSON.stringify({ chain: { mode: 'batch', batchSize: 16 } }))
    expect(loadConfig({ env: { DMN_CONFIG: file } }).chain).toMatchObject({ mode: 'batch', batchSize: 16 })
  })

  it('reads an env file under the environment: any name set in the environment wins over the file', () => {
    const envFile = readEnvFile(
      tempFile(
        [
          '# comment',
          'export DMN_P2P_PORT=4500',
          'DMN_CHAIN_MODE="batch"',
          "KEY_MASTER_PASSWORD='from file'",
          'DATA_DIR=/from/file'
        ].join('\n'),
        '.env'
      )
    )
    const config = loadConfig({ envFile, env: { P2P_PORT: '4600', DMN_DATA_DIR: '' } })
    expect(config.p2p.port).toBe(4600)
    expect(config.chain.mode).toBe('batch')
    expect(config.masterPassword).toBe('from file')
    expect(config.dataDir).toBe('/from/file')
  })

  it("names an env file's invalid values and unknown DMN_ variables with the file", () => {
    const envFile = readEnvFile(tempFile('DMN_P2P_PROT=4001\nDMN_CHAIN_MODE=never\n', 'node.env'))
    const problems = problemsOf(() => loadConfig({ envFile, env: {} }))
    expect(problems).toEqual(
      expect.arrayContaining([
        `DMN_P2P_PROT in ${envFile?.path}: not a setting of this node`,
        expect.stringContaining(`chain.mode (from DMN_CHAIN_MODE in ${envFile?.path})`)
      ])
    )
  })

  it('refuses an env file that cannot be read, and skips a missing optional one', () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'dmn-config-')), '.env')
    expect(problemsOf(() => readEnvFile(missing))).toEqual([expect.stringContaining('ENOENT')])
    expect(readEnvFile(missing, { optional: true })).toBeUndefined()
  })

  it('lets command-line overrides win over everything', () => {
    const config = loadConfig({ env: { DATA_DIR: '/a' }, overrides: { dataDir: '/b' } })
    expect(config.dataDir).toBe('/b')
  })

  it('reports every invalid value in one error, each with where it came from', () => {
    const file = tempFile(JSON.stringify({ chain: { confirmations: -1 }, bogus: true }))
    const problems = problemsOf(() =>
      loadConfig({
        file,
        env: {
          P2P_PORT: 'not-a-port',
          DMN_API_EXTERNAL_PORT: '70000',
          DMN_CRYPTO_PBKDF2_ITERATIONS: '1000',
          DMN_CHAIN_MODE: 'sometimes',
          INITIAL_PEERS: 'peer-without-multiaddr',
          BLOCKCHAIN_URL: 'ftp://chain',
          PRIVATE_KEY: '0x1234',
          DMN_API_TRUSTED_PROXIES: '10.0.0.1,not-an-ip',
          DMN_LOG_LEVEL: 'loud'
        }
      })
    )
    const paths = problems.map((p) => p.split(' ')[0]?.replace(/:$/, ''))
    expect(paths).toEqual(
      expect.arrayContaining([
        'p2p.port',
        'api.external.port',
        'crypto.pbkdf2Iterations',
        'chain.mode',
        'p2p.bootstrap.0',
        'chain.rpcUrl',
        'chain.privateKey',
        'api.trustedProxies.1',
        'logLevel',
        'chain.confirmations',
        'config'
      ])
    )
    expect(problems).toHaveLength(11)
    expect(problems.find((p) => p.startsWith('p2p.port'))).toContain('(from P2P_PORT)')
    expect(problems.find((p) => p.startsWith('config'))).toContain('bogus')
  })

  it('reads the internal API allowed hosts as a list and refuses what is not name[:port]', () => {
    const config = loadConfig({
      env: { DMN_API_INTERNAL_ALLOWED_HOSTS: 'node1.lan, localhost:9000,[::1]:9001,10.0.0.5' }
    })
    expect(config.api.internal.allowedHosts).toEqual([
      'node1.lan',
      'localhost:9000',
      '[::1]:9001',
      '10.0.0.5'
    ])
    const bad = [
      '*',
      'http://node1.lan',
      'node1.lan/x',
      'user@node1.lan',
      'node1.lan:0',
      'node1.lan:65536',
      '::1',
      '[zz::1]'
    ]
    const problems = problemsOf(() => loadConfig({ env: { DMN_API_INTERNAL_ALLOWED_HOSTS: bad.join(',') } }))
    expect(problems.map((p) => p.split(' ')[0])).toEqual(bad.map((_, i) => `api.internal.allowedHosts.${i}`))
    expect(problems[0]).toContain('(from DMN_API_INTERNAL_ALLOWED_HOSTS)')
  })

  it('refuses DMN_ variables that are not settings, so a typo does not go unnoticed', () => {
    expect(problemsOf(() => loadConfig({ env: { DMN_P2P_PROT: '1' } }))).toEqual([
      'DMN_P2P_PROT: not a setting of this node'
    ])
  })

  it('reports a config file that is missing or not JSON', () => {
    expect(problemsOf(() => loadConfig({ file: '/nonexistent/dmn.json', env: {} }))[0]).toMatch(
      /cannot be read/
    )
    expect(problemsOf(() => loadConfig({ file: tempFile('{ nope'), env: {} }))[0]).toMatch(/not valid JSON/)
    expect(problemsOf(() => loadConfig({ file: tempFile('[1]'), env: {} }))[0]).toMatch(/JSON object/)
  })
})

describe('redactConfig', () => {
  it('replaces every secret and leaves the rest', () => {
    const config = loadConfig({ env: { KEY_MASTER_PASSWORD: 'hunter2', PRIVATE_KEY: 'ab'.repeat(32) } })
    const shown = redactConfig(config)
    const text = JSON.stringify(shown)
    expect(text).not.toContain('hunter2')
    expect(text).not.toContain('ab'.repeat(32))
    expect(shown['masterPassword']).toBe('[redacted]')
    expect((shown['chain'] as Record<string, unknown>)['privateKey']).toBe('[redacted]')
    expect((shown['p2p'] as Record<string, unknown>)['port']).toBe(4001)
  })

  it('leaves an unset secret unset rather than pretending it exists', () => {
    expect(redactConfig(loadConfig({ env: {} }))['masterPassword']).toBeUndefined()
  })
})
