import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { afterEach, describe, expect, it } from 'vitest'
import { configSchema } from '../../config/schema.ts'
import { AUDIT_TRAIL_RUNTIME, addressTopic, TOPICS } from '../../node/audit/contract.ts'
import { freePort } from '../../node/audit/embedded-chain.ts'
import { getLogs } from '../../node/audit/event-index.ts'
import { AuditService } from '../../node/audit/index.ts'
import { RpcClient, type RpcReceipt } from '../../node/audit/rpc-client.ts'
import { isAlive, waitForExit } from '../helpers/cli.ts'
import { auditRepositories } from '../../node/store/audit-repositories.ts'
import { capturingLogger, countState, queueShare, tempStore, waitFor } from './helpers.ts'
import {
  createApiKey,
  eventsPerShare,
  getJson,
  NODE_ENV,
  NodeProcess,
  nodePorts,
  outbox,
  shareData
} from './node-process.ts'

// The node's own embedded chain (anvil) is the chain in this file, one node's at a time.
const dirs: string[] = []
const running: NodeProcess[] = []
afterEach(async () => {
  for (const node of running.splice(0).reverse()) await node.crash()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-embedded-'))
  dirs.push(dir)
  return dir
}

async function env(dir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return { ...NODE_ENV, ...(await nodePorts()), DMN_DATA_DIR: dir, ...extra }
}

function start(environment: Record<string, string>): NodeProcess {
  const node = new NodeProcess(environment)
  running.push(node)
  return node
}

async function stop(node: NodeProcess): Promise<number | null> {
  running.splice(running.indexOf(node), 1)
  return node.stop()
}

async function crash(node: NodeProcess): Promise<void> {
  running.splice(running.indexOf(node), 1)
  await node.crash()
}

const refuses = async (url: string) => {
  try {
    await new RpcClient({ url, timeoutMs: 1_000 }).call('eth_chainId', [])
    return false
  } catch (err) {
    return (err as Error).name === 'ChainUnavailableError'
  }
}

const anvilPid = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'chain', 'anvil.pid'), 'utf8')) as { chain: number }).chain

describe('embedded chain (no CHAIN_RPC_URL)', () => {
  it('starts anvil on 127.0.0.1 with its state in the data directory, deploys AuditTrail, registers the node identity, and stops with the node', async () => {
    const dir = tempDir()
    const node = start(await env(dir))
    await node.ready()
    const { url, stateFile } = node.lines('embedded chain started')[0] as { url: string; stateFile: string }
    const { contract, account } = node.lines('audit trail ready')[0] as { contract: string; account: string }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(stateFile).toBe(join(dir, 'chain', 'anvil-state.json'))
    const rpc = new RpcClient({ url, timeoutMs: 5_000 })
    const code = await rpc.call<string>('eth_getCode', [contract, 'latest'])
    expect(code.toLowerCase()).toBe(AUDIT_TRAIL_RUNTIME)
    // The node registers its identity (PeerId, signing key) for its account on its own.
    await waitFor(
      async () =>
        (await getLogs(rpc, contract, [TOPICS.NodeRegistered, addressTopic(account)], 0)).length === 1,
      'NodeRegistered for the node account'
    )
    expect(await stop(node)).toBe(0)
    expect(await refuses(url)).toBe(true)
  })

  it('leaves no anvil behind when the node is killed, stops one whose guard was killed too, and comes back on the same chain', async () => {
    const dir = tempDir()
    const environment = await env(dir)
    const first = start(environment)
    await first.ready()
    const { url } = first.lines('embedded chain started')[0] as { url: string }
    const { contract } = first.lines('audit trail ready')[0] as { contract: string }
    const anvil = anvilPid(dir)
    // The node alone dies: its guard sees the pipe close and stops anvil.
    running.splice(running.indexOf(first), 1)
    first.child.kill('SIGKILL')
    await waitForExit(first.child)
    await waitFor(() => !isAlive(anvil), 'anvil to stop with its node')
    await waitFor(() => refuses(url), 'the chain to stop answering')

    const second = start(environment)
    await second.ready()
    expect(second.lines('audit trail ready')[0]?.['contract']).toBe(contract)
    const guard = second.lines('embedded chain started')[0]?.['chainPid'] as number
    const orphan = anvilPid(dir)
    // The node and its guard die; anvil stays, holding the state file.
    running.splice(running.indexOf(second), 1)
    second.child.kill('SIGKILL')
    process.kill(guard, 'SIGKILL')
    await waitForExit(second.child)
    expect(isAlive(orphan)).toBe(true)

    const third = start(environment)
    await third.ready()
    expect(third.lines('stopping an embedded chain left behind by an earlier run')).toMatchObject([
      { chainPid: orphan }
    ])
    expect(isAlive(orphan)).toBe(false)
    expect(third.lines('audit trail ready')[0]?.['contract']).toBe(contract)
    expect(await stop(third)).toBe(0)
  })

  it('keeps the trail across a restart and a kill -9 with its chain: earlier shares verify, new shares are audited, every event once', async () => {
    const chainPort = await freePort()
    const chainUrl = `http://127.0.0.1:${chainPort}`
    const fast = {
      DMN_CHAIN_CHECK_INTERVAL_SECONDS: '0.5',
      DMN_CHAIN_POLL_INTERVAL_MS: '100',
      DMN_P2P_RETRY_MAX_MS: '1000'
    }
    const envA = await env(tempDir(), { ...fast, DMN_CHAIN_EMBEDDED_PORT: String(chainPort) })
    let a = start(envA)
    await a.ready()
    const contract = (a.lines('audit trail ready')[0] as { contract: string }).contract
    const idA = (await getJson(`${a.internal}/id`)).body as { addresses: string[] }
    // B receives on A's chain, so that every share gets a signed receipt anchored too.
    const b = start(
      await env(tempDir(), {
        ...fast,
        DMN_P2P_BOOTSTRAP: idA.addresses[0] as string,
        DMN_CHAIN_RPC_URL: chainUrl,
        DMN_CHAIN_CONTRACT_ADDRESS: contract,
        DMN_CHAIN_MAX_BACKOFF_MS: '500',
        // The well-known development account #1, funded on anvil's chain.
        DMN_CHAIN_PRIVATE_KEY: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
      })
    )
    await b.ready()
    const peerB = ((await getJson(`${b.internal}/id`)).body as { peer_id: string }).peer_id
    const keyA = await createApiKey(a)
    const rpc = new RpcClient({ url: chainUrl, timeoutMs: 5_000 })
    const shares: { shareId: string; dataHash: string }[] = []

    /** Every share so far has its record and its receipt confirmed. */
    const confirmed = () =>
      waitFor(
        async () => {
          const rows = await outbox(a)
          return shares.every((s) =>
            ['share', 'receipt'].every((kind) =>
              rows.some((r) => r.share_id === s.shareId && r.kind === kind && r.state === 'confirmed')
            )
          )
        },
        'every share and receipt confirmed on A',
        60_000
      )
    /** Confirmed, the chain holds their transactions, and `verify_data` answers verified. */
    const audited = async () => {
      await confirmed()
      for (const row of (await outbox(a)).filter((r) => r.share_id !== null)) {
        const receipt = await rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [row.tx_hash])
        expect([row.kind, row.share_id, receipt?.status]).toEqual([row.kind, row.share_id, '0x1'])
      }
      for (const s of shares) {
        const verified = await getJson(`${a.external}/verify_data/${s.dataHash}`, {
          headers: { 'X-API-Key': keyA }
        })
        expect([s.dataHash, verified.body['verified']]).toEqual([s.dataHash, true])
      }
    }
    const shareSome = async (label: string) => {
      for (let i = 0; i < 2; i++) shares.push(await shareData(a, keyA, `${label} ${i}`, peerB))
    }

    await shareSome('before the restart')
    await audited()
    expect(await stop(a)).toBe(0)
    a = start(envA)
    await a.ready()
    expect(a.lines('audit trail ready')[0]?.['contract']).toBe(contract)
    await audited()
    await shareSome('after the restart')
    await confirmed()

    // A crash right after the last confirmations, the node with its chain: anvil writes no state
    // then, so the last second of its chain may be gone (the node sends what it lost again).
    await crash(a)
    expect(await refuses(chainUrl)).toBe(true)
    a = start(envA)
    await a.ready()
    await audited()
    await shareSome('after the crash')
    await audited()

    for (const event of ['ShareRecorded', 'ReceiptAnchored']) {
      const counts = await eventsPerShare(rpc, contract, event)
      expect([event, shares.map((s) => counts.get(s.shareId) ?? 0)]).toEqual([event, shares.map(() => 1)])
    }
    expect(await stop(b)).toBe(0)
    expect(await stop(a)).toBe(0)
  }, 300_000)
})

describe('embedded chain state after a crash', () => {
  it('sets aside a state file cut short, starts from the last complete copy, and sends the transactions that copy lacks again', async () => {
    const store = tempStore()
    const chainDir = join(store.dir, 'chain')
    const { logger, lines } = capturingLogger()
    const config = configSchema.parse({
      dataDir: store.dir,
      chain: {
        privateKey: Wallet.createRandom().privateKey,
        pollIntervalMs: 25,
        checkIntervalSeconds: 0.2,
        logAnchorIntervalSeconds: 3600
      }
    })
    const service = () =>
      new AuditService(
        { repositories: () => auditRepositories(store.db), logger },
        { ...config.chain, dataDir: store.dir }
      )
    let audit = service()
    try {
      await audit.start()
      const first = queueShare(store.db)
      audit.poke()
      await waitFor(() => countState(store.db, 'confirmed') === 1, 'the first share confirmed')
      await audit.stop()
      // The complete state written at that stop, before the second share.
      const kept = readFileSync(join(chainDir, 'anvil-state.good.json'))

      audit = service()
      await audit.start()
      const second = queueShare(store.db)
      audit.poke()
      await waitFor(() => countState(store.db, 'confirmed') === 2, 'the second share confirmed')
      const sent = (
        store.db.prepare(`SELECT tx_hash FROM outbox WHERE share_id = ?`).get(second.shareId) as {
          tx_hash: string
        }
      ).tx_hash
      // A crash while anvil rewrote its state file, with the guard's copy from before the second share.
      process.kill(
        -(JSON.parse(readFileSync(join(chainDir, 'anvil.pid'), 'utf8')) as { guard: number }).guard,
        'SIGKILL'
      )
      await waitFor(() => !isAlive(anvilPid(store.dir)), 'the chain gone')
      writeFileSync(
        join(chainDir, 'anvil-state.json'),
        readFileSync(join(chainDir, 'anvil-state.json')).subarray(0, 100)
      )
      writeFileSync(join(chainDir, 'anvil-state.good.json'), kept)
      await audit.stop()

      audit = service()
      await audit.start()
      expect(readdirSync(chainDir).filter((f) => f.startsWith('anvil-state.json.broken-'))).toHaveLength(1)
      expect(
        lines.filter((l) => l['msg'] === 'embedded chain state restored from its last complete copy')
      ).toHaveLength(1)
      await waitFor(() => countState(store.db, 'confirmed') === 2, 'both shares confirmed again')
      const { contractAddress } = audit
      const rpc = new RpcClient({ url: audit.rpcUrl as string, timeoutMs: 5_000 })
      const records = await eventsPerShare(rpc, contractAddress as string, 'ShareRecorded')
      expect([records.get(first.shareId), records.get(second.shareId)]).toEqual([1, 1])
      expect(
        (
          store.db.prepare(`SELECT tx_hash FROM outbox WHERE share_id = ?`).get(second.shareId) as {
            tx_hash: string
          }
        ).tx_hash
      ).toBe(sent)
    } finally {
      await audit.stop()
      store.cleanup()
    }
  })
})
