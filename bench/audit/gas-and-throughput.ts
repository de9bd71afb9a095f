/**
 * Audit trail benchmark against a local `hardhat node` (automine, 1 confirmation):
 * - gas per share in per-share mode (ShareRecorded + ReceiptAnchored transactions) and in batch mode
 *   with batches of 16, 64 and 256 leaves (a share is two leaves: its record and its receipt);
 * - events per second the publisher sustains, queue full at the start, until all are confirmed.
 * Run: node bench/audit/gas-and-throughput.ts [--shares N]   (last line: one JSON object)
 */
import type { AuditService } from '../../node/audit/index.ts'
import { HardhatNode } from '../../node/audit/index.ts'
import type { RpcReceipt } from '../../node/audit/rpc-client.ts'
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
}

async function run(
  chain: HardhatNode,
  mode: 'per-share' | 'batch',
  batchSize: number,
  shares: number
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
      eventsPerSecond: Number((events / seconds).toFixed(1))
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
  // Per-share mode sends two transactions per share; an eighth of the shares keeps the run short.
  results.push(await run(chain, 'per-share', 1, Math.max(16, Math.floor(SHARES / 8))))
  for (const size of [16, 64, 256]) results.push(await run(chain, 'batch', size, SHARES))
  console.log('mode        batch  shares  events  txs   gas/share  gas/event  seconds  events/s')
  for (const r of results) {
    console.log(
      [
        r.mode.padEnd(10),
        String(r.batchSize ?? '-').padStart(6),
        String(r.shares).padStart(7),
        String(r.events).padStart(7),
        String(r.transactions).padStart(5),
        String(r.gasPerShare).padStart(10),
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
