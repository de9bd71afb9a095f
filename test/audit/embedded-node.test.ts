import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AUDIT_TRAIL_RUNTIME, addressTopic, TOPICS } from '../../node/audit/contract.ts'
import { getLogs } from '../../node/audit/event-index.ts'
import { RpcClient } from '../../node/audit/rpc-client.ts'
import { isAlive, spawnCli, waitForExit, waitForLog } from '../helpers/cli.ts'
import { waitFor } from './helpers.ts'

// The node's own embedded Hardhat node is the only chain in this file (one at a time).
let dir: string
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function env(): Record<string, string> {
  dir = mkdtempSync(join(tmpdir(), 'dmn-embedded-'))
  return {
    DMN_DATA_DIR: dir,
    DMN_MASTER_PASSWORD: 'correct horse battery staple',
    DMN_CRYPTO_SIGNING_KEY_BITS: '2048',
    DMN_CRYPTO_ENCRYPTION_KEY_BITS: '2048',
    DMN_P2P_PORT: '0',
    DMN_P2P_HOST: '127.0.0.1',
    DMN_API_INTERNAL_PORT: '0',
    DMN_API_EXTERNAL_PORT: '0',
    DMN_API_EXTERNAL_HOST: '127.0.0.1',
    DMN_LOG_LEVEL: 'info'
  }
}

const refuses = async (url: string) => {
  try {
    await new RpcClient({ url, timeoutMs: 1_000 }).call('eth_chainId', [])
    return false
  } catch (err) {
    return (err as Error).name === 'ChainUnavailableError'
  }
}

describe('embedded chain (no CHAIN_RPC_URL)', () => {
  it('starts a Hardhat node on 127.0.0.1, deploys AuditTrail, registers the node identity, and stops it with the node', async () => {
    const node = spawnCli(['start'], env())
    const started = waitForLog(node, 'embedded hardhat node started')
    const ready = waitForLog(node, 'audit trail ready')
    const { url } = (await started) as { url: string }
    const { contract, account } = (await ready) as { contract: string; account: string }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const rpc = new RpcClient({ url, timeoutMs: 5_000 })
    const code = await rpc.call<string>('eth_getCode', [contract, 'latest'])
    expect(code.toLowerCase()).toBe(AUDIT_TRAIL_RUNTIME)
    // The node registers its identity (PeerId, signing key) for its account on its own.
    await waitFor(
      async () =>
        (await getLogs(rpc, contract, [TOPICS.NodeRegistered, addressTopic(account)], 0)).length === 1,
      'NodeRegistered for the node account'
    )
    node.kill('SIGTERM')
    expect((await waitForExit(node)).code).toBe(0)
    expect(await refuses(url)).toBe(true)
  })

  it('does not leave the Hardhat node behind when the node is killed with SIGKILL', async () => {
    const node = spawnCli(['start'], env())
    const started = waitForLog(node, 'embedded hardhat node started')
    const ready = waitForLog(node, 'audit trail ready')
    const { url, hardhatPid: pid } = (await started) as { url: string; hardhatPid: number }
    await ready
    expect(isAlive(pid)).toBe(true)
    node.kill('SIGKILL')
    await waitForExit(node)
    await waitFor(() => !isAlive(pid), 'the guard to exit')
    await waitFor(() => refuses(url), 'the Hardhat node to stop')
  })
})
