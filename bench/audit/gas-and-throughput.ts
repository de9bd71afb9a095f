/**
 * Audit trail benchmark against a local `hardhat node` (automine, 1 confirmation):
 * - gas per share in per-share mode (ShareRecorded + ReceiptAnchored transactions) and in batch mode
 *   with batches of 16, 64 and 256 leaves (a share is two leaves: its record and its receipt);
 * - beside each, in the same run, the events-only floor: the same events emitted by a contract with
 *   no checks at all (contracts/bench/AuditFloor.sol, shipped as floor-artifact.json), and the bound
 *   the node promises (per-share 50,000, batch-256 200 gas per share);
 * - events per second the publisher sustains, queue full at the start, until all are confirmed.
 * Run: node bench/audit/gas-and-throughput.ts [--shares N]   (last line: one JSON object)
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Interface, keccak256, Wallet } from 'ethers'
import type { AuditService } from '../../node/audit/index.ts'
import { HardhatNode } from '../../node/audit/index.ts'
import { waitForReceipt } from '../../node/audit/deploy.ts'
import { hexToNumber, type RpcClient, type RpcReceipt } from '../../node/audit/rpc-client.ts'
import { ChainTxRepository } from '../../node/store/chain-txs.ts'
import {
  auditService,
  countState,
  freshDeployment,
  queueShare,
  storeReceipt,
  tempStore,
  waitFor
} from '../../test/audit/helpers.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const SHARES = arg('--shares', 1024)

interface RunResult {
  readonly mode: string
  readonly batchSize: number | null
  readonly shares: number
  readonly events: number
  readonly transactions: number
  readonly gasTotal: number
  readonly gasPerShare: number
  readonly gasPerEvent: number
  readonly seconds: number
  readonly eventsPerSecond: number
  /** Gas per share of the same events from the check-free AuditFloor contract, this run. */
  readonly floorGasPerShare: number
  /** What the node promises for this mode (per-share, batch-256), or null. */
  readonly boundGasPerShare: number | null
}

const floorArtifact = JSON.parse(readFileSync(new URL('./floor-artifact.json', import.meta.url), 'utf8')) as {
  abi: string[]
  bytecode: string
}
const floor = new Interface(floorArtifact.abi)
const hex32 = () => `0x${randomBytes(32).toString('hex')}`
const hex16 = () => `0x${randomBytes(16).toString('hex')}`

/** Sends `data` from `wallet` (to `to`, or a deployment) and returns its receipt. */
async function sendRaw(rpc: RpcClient, wallet: Wallet, to: string | null, data: string): Promise<RpcReceipt> {
  const [nonce, gasPrice, chainId] = await Promise.all([
    rpc.call<string>('eth_getTransactionCount', [wallet.address, 'pending']),
    rpc.call<string>('eth_gasPrice', []),
    rpc.call<string>('eth_chainId', [])
  ])
  const raw = await wallet.signTransaction({
    type: 0,
    ...(to ? { to } : {}),
    data,
    nonce: hexToNumber(nonce),
    gasLimit: 3_000_000n,
    gasPrice: BigInt(gasPrice),
    chainId: hexToNumber(chainId)
  })
  await rpc.call('eth_sendRawTransaction', [raw])
  return waitForReceipt(rpc, keccak256(raw))
}

/**
 * The events-only floor: gas per share of the same calls on AuditFloor, with arguments of the same
 * shape (random hashes), averaged over `samples` shares; for batches, one anchor over
 * `batchSize` leaves divided by its shares (two leaves each).
 */
async function measureFloor(
  chainUrl: string,
  samples = 16
): Promise<{ perShare: number; batch: (size: number) => Promise<number> }> {
  const d = await freshDeployment(chainUrl)
  const wallet = new Wallet(d.privateKey)
  const deployed = await sendRaw(d.rpc, wallet, null, floorArtifact.bytecode)
  const address = (deployed as RpcReceipt & { contractAddress: string }).contractAddress
  const gas = (r: RpcReceipt) => Number(BigInt(r.gasUsed))
  let total = 0
  for (let i = 0; i < samples; i++) {
    const shareId = hex16()
    total += gas(
      await sendRaw(
        d.rpc,
        wallet,
        address,
        floor.encodeFunctionData('recordShare', [shareId, hex32(), hex32(), hex32()])
      )
    )
    total += gas(
      await sendRaw(d.rpc, wallet, address, floor.encodeFunctionData('anchorReceipt', [shareId, hex32()]))
    )
  }
  return {
    perShare: Math.round(total / samples),
    batch: async (size) =>
      Math.round(
        gas(
          await sendRaw(
            d.rpc,
            wallet,
            address,
            floor.encodeFunctionData('anchorBatch', [hex32(), 1_000_000n, size])
          )
        ) /
          (size / 2)
      )
  }
}

async function run(
  chain: HardhatNode,
  mode: 'per-share' | 'batch',
  batchSize: number,
  shares: number,
  floorGasPerShare: number
): Promise<RunResult> {
  const store = tempStore()
  const d = await freshDeployment(chain.url)
  let audit: AuditService | undefined
  try {
    for (let i = 0; i < shares; i++) storeReceipt(store.db, queueShare(store.db))
    const events = shares * 2
    audit = auditService(store.db, store.dir, {
      rpcUrl: chain.url,
      privateKey: d.privateKey,
      contractAddress: d.record.contractAddress,
      fromBlock: d.record.deployBlock,
      mode,
      batchSize,
      pollIntervalMs: 10,
      rpcTimeoutMs: 30_000
    })
    const started = performance.now()
    await audit.start()
    await waitFor(() => countState(store.db, 'confirmed') === events, 'all events confirmed', 600_000)
    const seconds = (performance.now() - started) / 1000
    const hashes = new ChainTxRepository(store.db).confirmedHashes()
    let gasTotal = 0
    for (const tx_hash of hashes) {
      const r = await d.rpc.call<RpcReceipt>('eth_getTransactionReceipt', [tx_hash])
      gasTotal += Number(BigInt(r.gasUsed))
    }
    return {
      mode,
      batchSize: mode === 'batch' ? batchSize : null,
      shares,
      events,
      transactions: hashes.length,
      gasTotal,
      gasPerShare: Math.round(gasTotal / shares),
      gasPerEvent: Math.round(gasTotal / events),
      seconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Number((events / seconds).toFixed(1)),
      floorGasPerShare,
      boundGasPerShare: mode === 'per-share' ? 50_000 : batchSize === 256 ? 200 : null
    }
  } finally {
    await audit?.stop()
    store.cleanup()
  }
}

const chain = new HardhatNode()
await chain.start()
try {
  const results: RunResult[] = []
  const floorOf = await measureFloor(chain.url)
  // Per-share mode sends two transactions per share; an eighth of the shares keeps the run short.
  results.push(await run(chain, 'per-share', 1, Math.max(16, Math.floor(SHARES / 8)), floorOf.perShare))
  for (const size of [16, 64, 256])
    results.push(await run(chain, 'batch', size, SHARES, await floorOf.batch(size)))
  console.log(
    'mode        batch  shares  events  txs   gas/share  floor  bound  gas/event  seconds  events/s'
  )
  for (const r of results) {
    console.log(
      [
        r.mode.padEnd(10),
        String(r.batchSize ?? '-').padStart(6),
        String(r.shares).padStart(7),
        String(r.events).padStart(7),
        String(r.transactions).padStart(5),
        String(r.gasPerShare).padStart(10),
        String(r.floorGasPerShare).padStart(6),
        String(r.boundGasPerShare ?? '-').padStart(6),
        String(r.gasPerEvent).padStart(10),
        r.seconds.toFixed(2).padStart(8),
        r.eventsPerSecond.toFixed(1).padStart(9)
      ].join(' ')
    )
  }
  console.log(
    JSON.stringify({ benchmark: 'audit', chain: 'hardhat node (automine), 1 confirmation', results })
  )
} finally {
  await chain.stop()
}
