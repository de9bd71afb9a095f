import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SecurityLog } from '../../node/audit/index.ts'
import { RpcClient, toHex } from '../../node/audit/rpc-client.ts'
import { openDatabase } from '../../node/store/database.ts'
import { SecurityLogRepository } from '../../node/store/security-log.ts'
import { runCli, spawnCli, waitForExit, waitForLog } from '../helpers/cli.ts'
import { CHAIN_KINDS, type TestChain, testChain } from './chains.ts'
import { type TempStore, tempStore } from './helpers.ts'

// The chain of the describe block running now, standing in for "any EVM chain" behind CHAIN_RPC_URL.
let chain: TestChain

let dir: TempStore
afterEach(() => dir?.cleanup())

async function operatorEnv(): Promise<Record<string, string>> {
  const wallet = Wallet.createRandom()
  const rpc = new RpcClient({ url: chain.url, timeoutMs: 5_000 })
  await rpc.call('hardhat_setBalance', [wallet.address, toHex(10n ** 21n)])
  return {
    DMN_DATA_DIR: dir.dir,
    DMN_MASTER_PASSWORD: 'correct horse battery staple',
    DMN_CRYPTO_SIGNING_KEY_BITS: '2048',
    DMN_CRYPTO_ENCRYPTION_KEY_BITS: '2048',
    DMN_P2P_PORT: '0',
    DMN_P2P_HOST: '127.0.0.1',
    DMN_API_INTERNAL_PORT: '0',
    DMN_API_EXTERNAL_PORT: '0',
    DMN_API_EXTERNAL_HOST: '127.0.0.1',
    CHAIN_RPC_URL: chain.url,
    PRIVATE_KEY: wallet.privateKey,
    DMN_LOG_LEVEL: 'info'
  }
}

describe.each(CHAIN_KINDS)('dmn chain and dmn audit commands (%s)', (kind) => {
  const own = testChain(kind)
  beforeAll(async () => {
    await own.start()
    chain = own
  })
  afterAll(() => own.stop())

  it('deploys with `dmn chain deploy`, records chain.json, and the node starts on it after checking the bytecode', async () => {
    dir = tempStore()
    dir.db.close()
    const env = await operatorEnv()
    const deployed = runCli(['chain', 'deploy'], env)
    expect(deployed.stderr).toBe('')
    expect(deployed.status).toBe(0)
    const printed = JSON.parse(deployed.stdout) as { contract_address: string; chain_id: number }
    const record = JSON.parse(readFileSync(join(dir.dir, 'chain.json'), 'utf8')) as {
      contractAddress: string
    }
    expect(record.contractAddress).toBe(printed.contract_address)
    expect(printed.chain_id).toBe(31337)

    const status = runCli(['chain', 'status'], env)
    expect(status.status).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ contract: printed.contract_address, bytecode: 'ok' })

    const node = spawnCli(['start'], env)
    const ready = await waitForLog(node, 'audit trail ready')
    expect(ready['contract']).toBe(printed.contract_address)
    node.kill('SIGTERM')
    expect((await waitForExit(node)).code).toBe(0)

    const reindexed = runCli(['audit', 'reindex'], env)
    expect(reindexed.status).toBe(0)
    expect(reindexed.stdout).toMatch(/^indexed \d+ events from block \d+/)
  })

  it('deploys from the key ring when no key is configured, making the Ethereum key once and keeping it', async () => {
    dir = tempStore()
    dir.db.close()
    const { PRIVATE_KEY: _configured, ...env } = await operatorEnv()
    expect(runCli(['keys', 'init'], env).status).toBe(0)
    const poor = runCli(['chain', 'deploy'], env)
    expect(poor.status).toBe(1)
    const lines = poor.stderr.trim().split('\n')
    expect(lines).toEqual([expect.stringMatching(/^dmn: account 0x[0-9a-fA-F]{40} cannot pay /)])
    const address = /account (0x[0-9a-fA-F]{40})/.exec(lines[0] as string)?.[1] as string
    const rpc = new RpcClient({ url: chain.url, timeoutMs: 5_000 })
    await rpc.call('hardhat_setBalance', [address, toHex(10n ** 21n)])
    const deployed = runCli(['chain', 'deploy'], env)
    expect(deployed.stderr).toBe('')
    expect(deployed.status).toBe(0)
    expect(JSON.parse(deployed.stdout)).toMatchObject({ account: address, chain_id: 31337 })
  })

  it('refuses to start when the configured contract address holds other code', async () => {
    dir = tempStore()
    dir.db.close()
    const env = await operatorEnv()
    const node = spawnCli(['start'], {
      ...env,
      CONTRACT_ADDRESS: new Wallet(env['PRIVATE_KEY'] as string).address
    })
    let stderr = ''
    node.stderr?.on('data', (c) => {
      stderr += String(c)
    })
    expect((await waitForExit(node)).code).toBe(1)
    expect(stderr).toMatch(/^dmn: .*holds other code|^dmn: .*no contract at/m)
  })
})

describe('dmn audit verify-log (no chain)', () => {
  it('`dmn audit verify-log` passes an intact log and names the first tampered row', () => {
    dir = tempStore()
    const log = new SecurityLog(new SecurityLogRepository(dir.db))
    for (let i = 0; i < 5; i++) log.append('auth.success', { keyId: `k${i}` })
    dir.db.close()
    const env = { DMN_DATA_DIR: dir.dir }
    const ok = runCli(['audit', 'verify-log'], env)
    expect(ok.status).toBe(0)
    expect(JSON.parse(ok.stdout.split('\n')[0] as string)).toMatchObject({
      ok: true,
      rows: 5,
      first_bad: null
    })

    const db = openDatabase(join(dir.dir, 'node.db'))
    db.prepare(`UPDATE security_log SET kind = 'auth.failure' WHERE seq = 3`).run()
    db.close()
    const bad = runCli(['audit', 'verify-log'], env)
    expect(bad.status).toBe(1)
    expect(JSON.parse(bad.stdout.split('\n')[0] as string)).toMatchObject({
      ok: false,
      first_bad: { seq: 3 }
    })
    expect(bad.stderr).toMatch(/^dmn: first bad row: 3 /)
  })
})
