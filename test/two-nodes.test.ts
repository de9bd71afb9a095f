import { createHash } from 'node:crypto'
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { Wallet } from 'ethers'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../node/audit/embedded-chain.ts'
import { runCli, spawnCli, waitForExit, waitForLog } from './helpers/cli.ts'
import { duplicateKeys } from './helpers/json-keys.ts'
import { waitFor } from './p2p/helpers.ts'

/**
 * The README's "Run two nodes", step by step with real processes: node A with its embedded chain,
 * node B on that chain bootstrapped from `dmn id` of A, an API key on each, a share from A to B read
 * back and verified on B. Along the way, what an operator meets first: a second start on A's ports,
 * `dmn chain deploy` without a key ring and from an unfunded account, the log lines, file modes.
 */

const dir = mkdtempSync(join(tmpdir(), 'dmn-two-nodes-'))
const running: ChildProcess[] = []
afterAll(async () => {
  for (const child of running.reverse()) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await waitForExit(child)
  }
})

// As the README's env files, with small keys: this test is about running nodes, not about RSA.
const QUICK = 'DMN_CRYPTO_SIGNING_KEY_BITS=2048\nDMN_CRYPTO_ENCRYPTION_KEY_BITS=2048\n'

async function envFile(name: string, lines: Record<string, string | number>): Promise<string> {
  const path = join(dir, name)
  writeFileSync(
    path,
    `${Object.entries(lines)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n${QUICK}`
  )
  return path
}

/** Starts a node from `file` in the test's directory and collects its stdout lines. */
function start(file: string): { child: ChildProcess; lines: string[] } {
  const child = spawnCli(['--env-file', file, 'start'], {}, { cwd: dir })
  running.push(child)
  const lines: string[] = []
  let buffer = ''
  child.stdout?.on('data', (chunk) => {
    buffer += String(chunk)
    const parts = buffer.split('\n')
    buffer = parts.pop() ?? ''
    lines.push(...parts)
  })
  return { child, lines }
}

const dmn = (file: string, args: string[], env: Record<string, string> = {}) =>
  runCli(['--env-file', file, ...args], env, { cwd: dir })

async function getJson(
  url: string,
  key?: string
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, key ? { headers: { 'X-API-Key': key } } : {})
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describe('two nodes, as the README runs them', () => {
  it('shares a record from A to B over a shared chain, with dmn id giving B its bootstrap address', async () => {
    const [p2pA, p2pB, intA, intB, extA, extB, chainPort] = await Promise.all(
      Array.from({ length: 7 }, () => freePort())
    )
    const fileA = await envFile('node-a.env', {
      DMN_MASTER_PASSWORD: 'node A: a long passphrase of your own',
      DMN_DATA_DIR: './node-a',
      DMN_P2P_HOST: '127.0.0.1',
      DMN_P2P_PORT: p2pA as number,
      DMN_API_INTERNAL_PORT: intA as number,
      DMN_API_EXTERNAL_HOST: '127.0.0.1',
      DMN_API_EXTERNAL_PORT: extA as number,
      DMN_CHAIN_EMBEDDED_PORT: chainPort as number
    })
    const a = start(fileA)
    const readyA = waitForLog(a.child, 'node ready', 90_000)
    await readyA

    // No log line carries a key twice (pino's `pid` and a component's own were both written).
    const logged = a.lines.filter((line) => line.startsWith('{'))
    for (const msg of ['p2p started', 'embedded chain started'])
      expect(logged.some((line) => line.includes(`"msg":"${msg}"`))).toBe(true)
    for (const line of logged) expect([line, duplicateKeys(line)]).toEqual([line, []])

    // The database and its WAL files are owner-only while the node runs.
    for (const file of ['node.db', 'node.db-wal', 'node.db-shm'])
      expect([file, statSync(join(dir, 'node-a', file)).mode & 0o777]).toEqual([file, 0o600])

    // A second node on A's ports stops at once, naming the variable to change.
    const second = dmn(fileA, ['start'], { DMN_DATA_DIR: join(dir, 'second') })
    expect(second.status).toBe(1)
    expect(second.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^dmn: p2p port \d+ on 127\.0\.0\.1 is already in use .*set DMN_P2P_PORT \(p2p\.port\)/
      )
    ])

    const idA = JSON.parse(dmn(fileA, ['id', '--json']).stdout) as Record<string, unknown>
    expect(idA).toMatchObject({ source: 'node', listening: true })
    const addressA = (idA['addresses'] as string[])[0] as string
    expect(addressA).toBe(`/ip4/127.0.0.1/tcp/${p2pA}/p2p/${idA['peer_id']}`)
    expect(idA['eth_address']).toMatch(/^0x[0-9a-fA-F]{40}$/)
    const chainUrl = `http://127.0.0.1:${chainPort}`

    // `dmn chain deploy` on that chain: without a key ring, and from an account without funds.
    const noRing = runCli(['chain', 'deploy'], {
      DMN_DATA_DIR: join(dir, 'no-ring'),
      DMN_MASTER_PASSWORD: 'x',
      DMN_CHAIN_RPC_URL: chainUrl
    })
    expect(noRing.status).toBe(1)
    expect(noRing.stderr).toMatch(/^dmn: no key ring at .*: run `dmn keys init`/)
    const unfunded = Wallet.createRandom()
    const poor = runCli(['chain', 'deploy'], {
      DMN_DATA_DIR: join(dir, 'poor'),
      DMN_CHAIN_RPC_URL: chainUrl,
      DMN_CHAIN_PRIVATE_KEY: unfunded.privateKey
    })
    expect(poor.status).toBe(1)
    expect(poor.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^dmn: account ${unfunded.address} cannot pay .*DMN_CHAIN_PRIVATE_KEY`)
      )
    ])

    const contract = (await getJson(`http://127.0.0.1:${intA}/audit/status`)).body['contract_address']
    expect(contract).toMatch(/^0x[0-9a-f]{40}$/)
    const fileB = await envFile('node-b.env', {
      DMN_MASTER_PASSWORD: 'node B: another long passphrase',
      DMN_DATA_DIR: './node-b',
      DMN_P2P_HOST: '127.0.0.1',
      DMN_P2P_PORT: p2pB as number,
      DMN_API_INTERNAL_PORT: intB as number,
      DMN_API_EXTERNAL_HOST: '127.0.0.1',
      DMN_API_EXTERNAL_PORT: extB as number,
      DMN_P2P_BOOTSTRAP: addressA,
      DMN_CHAIN_RPC_URL: chainUrl,
      DMN_CHAIN_CONTRACT_ADDRESS: contract as string,
      // Hardhat's development account #1, as in the README.
      DMN_CHAIN_PRIVATE_KEY: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
    })
    const b = start(fileB)
    await waitForLog(b.child, 'node ready', 90_000)

    const keyA = dmn(fileA, ['apikeys', 'create', '--name', 'app-a']).stdout.split('\n')[1] as string
    const keyB = dmn(fileB, ['apikeys', 'create', '--name', 'app-b']).stdout.split('\n')[1] as string
    const idB = JSON.parse(dmn(fileB, ['id', '--json']).stdout) as { peer_id: string }
    const shared = await fetch(`http://127.0.0.1:${extA}/share_data`, {
      method: 'POST',
      headers: { 'X-API-Key': keyA, 'Content-Type': 'application/json' },
      body: JSON.stringify({ data: 'hello from A', recipient: idB.peer_id })
    })
    expect(shared.status).toBe(201)
    const hash = createHash('sha256').update('hello from A').digest('hex')
    const read = await waitFor('the record on B', async () => {
      const r = await getJson(`http://127.0.0.1:${extB}/data/${hash}`, keyB)
      return r.status === 200 ? r.body : undefined
    })
    expect(read['data']).toBe('hello from A')
    await waitFor('verified on B', async () => {
      const r = await getJson(`http://127.0.0.1:${extB}/verify_data/${hash}`, keyB)
      return r.body['verified'] === true
    })

    b.child.kill('SIGTERM')
    expect((await waitForExit(b.child)).code).toBe(0)
    a.child.kill('SIGTERM')
    expect((await waitForExit(a.child)).code).toBe(0)

    // Stopped, A's identity still reads from its key ring, with the address it would listen on.
    const offline = JSON.parse(dmn(fileA, ['id', '--json']).stdout) as Record<string, unknown>
    expect(offline).toMatchObject({
      source: 'key-ring',
      listening: false,
      peer_id: idA['peer_id'],
      addresses: [addressA],
      eth_address: idA['eth_address'],
      signing_key_fingerprint: idA['signing_key_fingerprint']
    })
  }, 240_000)
})
