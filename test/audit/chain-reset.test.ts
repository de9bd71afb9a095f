import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../node/audit/embedded-chain.ts'
import { RpcClient, type RpcReceipt } from '../../node/audit/rpc-client.ts'
import { runCli } from '../helpers/cli.ts'
import { CHAIN_KINDS, type TestChain, testChain } from './chains.ts'
import { waitFor } from './helpers.ts'
import {
  createApiKey,
  eventsPerShare,
  health,
  NODE_ENV,
  NodeProcess,
  nodePorts,
  type OutboxRow,
  outbox,
  shareData
} from './node-process.ts'

// The well-known development account #3: funded on every fresh hardhat node and anvil chain.
const DEV_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6'

describe.each(CHAIN_KINDS)('a chain reset under a running node (%s behind CHAIN_RPC_URL)', (kind) => {
  let chain: TestChain
  let dir: string
  let node: NodeProcess | undefined
  beforeAll(async () => {
    chain = testChain(kind, { port: await freePort() })
    await chain.start()
    dir = mkdtempSync(join(tmpdir(), 'dmn-chain-reset-'))
  })
  afterAll(async () => {
    await node?.crash()
    await chain.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('degrades health with the reason, logs an error, deploys its contract again and re-publishes, never calling the lost transactions confirmed', async () => {
    const env = {
      ...NODE_ENV,
      ...(await nodePorts()),
      DMN_DATA_DIR: dir,
      CHAIN_RPC_URL: chain.url,
      PRIVATE_KEY: DEV_KEY,
      DMN_CHAIN_CHECK_INTERVAL_SECONDS: '0.2',
      DMN_CHAIN_POLL_INTERVAL_MS: '50',
      DMN_CHAIN_MAX_BACKOFF_MS: '200',
      DMN_CHAIN_RPC_TIMEOUT_MS: '1000'
    }
    // The node's own deployment (recorded in chain.json): it may deploy it again after a reset.
    const deployed = runCli(['chain', 'deploy'], env)
    expect([deployed.status, deployed.stderr]).toEqual([0, ''])
    node = new NodeProcess(env)
    await node.ready()
    const key = await createApiKey(node)
    const away = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const shares = [await shareData(node, key, 'one', away), await shareData(node, key, 'two', away)]
    const published = (rows: OutboxRow[]) =>
      shares.every((s) =>
        rows.some((r) => r.share_id === s.shareId && r.kind === 'share' && r.state === 'confirmed')
      ) && rows.some((r) => r.kind === 'node' && r.state === 'confirmed')
    await waitFor(async () => published(await outbox(node!)), 'the shares and the registration confirmed')
    const lost = new Set((await outbox(node)).map((r) => r.tx_hash))

    // The chain behind CHAIN_RPC_URL starts over: a new genesis, no contract, no history.
    await chain.stop()
    await chain.start()

    await waitFor(
      async () => (await health(node!)).components['chain']?.status === 'degraded',
      'health degraded'
    )
    const degraded = await health(node)
    expect(degraded.status).toBe('degraded')
    expect(degraded.components['chain']?.detail?.['reason']).toMatch(
      /^chain_reset: the chain's genesis block changed/
    )
    expect(
      node.lines('audit chain was reset or replaced: its confirmed events are queued again')
    ).toMatchObject([
      { level: 'error', reason: expect.stringMatching(/genesis block changed/), confirmed: 3 }
    ])

    // Re-published on the new chain, and from the reset on never `confirmed` with a transaction the
    // new chain does not hold. (A job signed again with the same nonce, call and gas price is the
    // very same bytes, so its hash may be an old one: it counts only once the new chain has mined it.)
    const rpc = new RpcClient({ url: chain.url, timeoutMs: 5_000 })
    await waitFor(
      async () => {
        const rows = await outbox(node!)
        for (const r of rows) {
          if (r.state !== 'confirmed' || !lost.has(r.tx_hash)) continue
          const receipt = await rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [r.tx_hash])
          expect([r.kind, receipt?.status]).toEqual([r.kind, '0x1'])
        }
        return published(rows)
      },
      're-published on the new chain',
      60_000
    )
    const redeployed = node.lines('audit contract deployed again; the queued events go there')
    expect(redeployed).toHaveLength(1)
    const contract = redeployed[0]?.['contract'] as string
    const record = JSON.parse(readFileSync(join(dir, 'chain.json'), 'utf8')) as { contractAddress: string }
    expect(record.contractAddress).toBe(contract)
    for (const row of await outbox(node)) {
      const receipt = await rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [row.tx_hash])
      expect([row.kind, receipt?.status]).toEqual([row.kind, '0x1'])
    }
    const records = await eventsPerShare(rpc, contract, 'ShareRecorded')
    expect(shares.map((s) => records.get(s.shareId))).toEqual([1, 1])
    expect(await node.stop()).toBe(0)
    node = undefined
  }, 180_000)
})
