import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Transaction } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bytes16, TOPICS } from '../../node/audit/contract.ts'
import { getLogs } from '../../node/audit/event-index.ts'
import type { AuditService } from '../../node/audit/index.ts'
import type { RpcClient } from '../../node/audit/rpc-client.ts'
import { CHAIN_KINDS, dropTransaction, type TestChain, testChain } from './chains.ts'
import {
  auditService,
  boundParties,
  countState,
  freshDeployment,
  queueShare,
  type TempStore,
  tempStore,
  waitFor
} from './helpers.ts'

const FIXTURE = fileURLToPath(new URL('./fixtures/publisher-process.ts', import.meta.url))

let store: TempStore
let audit: AuditService | undefined
let child: ChildProcess | undefined
// The chain of the describe block running now.
let chain: TestChain
afterEach(async () => {
  child?.kill('SIGKILL')
  chain?.signal('SIGCONT')
  await audit?.stop()
  audit = undefined
  store?.cleanup()
})

type Deployment = Awaited<ReturnType<typeof freshDeployment>>

function settings(d: Deployment, extra: Record<string, unknown> = {}) {
  return {
    rpcUrl: chain.url,
    privateKey: d.privateKey,
    contractAddress: d.record.contractAddress,
    fromBlock: d.record.deployBlock,
    ...extra
  }
}

async function shareRecords(d: Deployment, shareId: string) {
  return getLogs(
    d.rpc,
    d.record.contractAddress,
    [TOPICS.ShareRecorded, bytes16(shareId).padEnd(66, '0')],
    d.record.deployBlock
  )
}

/** Runs a publisher in a child process until it has signed and broadcast a transaction, then SIGKILLs it. */
async function killAfterSend(d: Deployment, rpc: RpcClient): Promise<string> {
  child = spawn(
    process.execPath,
    [FIXTURE, store.path, chain.url, d.privateKey, d.record.contractAddress, String(d.record.deployBlock)],
    {
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  const sent = () =>
    store.db.prepare(`SELECT tx_hash FROM chain_txs WHERE state = 'sent'`).get() as
      | { tx_hash: string }
      | undefined
  await waitFor(() => sent() !== undefined, 'the child to send a transaction')
  const txHash = sent()!.tx_hash
  await waitFor(
    async () => (await rpc.call('eth_getTransactionByHash', [txHash])) !== null,
    'the transaction in the pool'
  )
  const exited = new Promise((r) => child!.once('exit', r))
  child.kill('SIGKILL')
  await exited
  child = undefined
  return txHash
}

// One chain per kind; each test deploys its own contract from its own account.
describe.each(CHAIN_KINDS)('publisher restarts and chain outages (%s)', (kind) => {
  const own = testChain(kind)
  beforeAll(async () => {
    await own.start()
    chain = own
  })
  afterAll(() => own.stop())

  it('records a share exactly once when the publisher is killed after sending and the transaction is mined while it is down', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    await d.rpc.call('evm_setAutomine', [false])
    try {
      const share = queueShare(store.db)
      const txHash = await killAfterSend(d, d.rpc)
      expect(countState(store.db, 'sent')).toBe(1)
      await d.rpc.call('evm_mine', [])
      await d.rpc.call('evm_setAutomine', [true])
      audit = auditService(store.db, store.dir, settings(d))
      await audit.start()
      await waitFor(() => countState(store.db, 'confirmed') === 1, 'confirmation after restart')
      const logs = await shareRecords(d, share.shareId)
      expect(logs.map((l) => l.transactionHash)).toEqual([txHash])
      expect(store.db.prepare('SELECT count(*) AS n FROM chain_txs').get()).toEqual({ n: 1 })
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('rebroadcasts the same signed transaction when it was dropped while the publisher was down: one record', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    await d.rpc.call('evm_setAutomine', [false])
    try {
      const share = queueShare(store.db)
      const txHash = await killAfterSend(d, d.rpc)
      expect(await dropTransaction(d.rpc, kind, txHash)).toBe(true)
      expect(await d.rpc.call('eth_getTransactionByHash', [txHash])).toBeNull()
      await d.rpc.call('evm_setAutomine', [true])
      audit = auditService(store.db, store.dir, settings(d))
      await audit.start()
      await waitFor(() => countState(store.db, 'confirmed') === 1, 'confirmation after rebroadcast')
      const logs = await shareRecords(d, share.shareId)
      expect(logs.map((l) => l.transactionHash)).toEqual([txHash])
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('keeps up to maxInFlight transactions in flight with consecutive nonces, and records each event once', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    await d.rpc.call('evm_setAutomine', [false])
    try {
      const shares = Array.from({ length: 5 }, () => queueShare(store.db))
      audit = auditService(store.db, store.dir, settings(d, { maxInFlight: 3 }))
      await audit.start()
      const inFlight = () =>
        store.db.prepare(`SELECT nonce FROM chain_txs WHERE state = 'sent' ORDER BY nonce`).all() as {
          nonce: number
        }[]
      await waitFor(() => inFlight().length === 3, 'three transactions in flight')
      const nonces = inFlight().map((r) => r.nonce)
      expect(nonces).toEqual([nonces[0], nonces[0]! + 1, nonces[0]! + 2])
      expect(countState(store.db, 'pending')).toBe(2)
      await d.rpc.call('evm_mine', [])
      await d.rpc.call('evm_setAutomine', [true])
      await waitFor(() => countState(store.db, 'confirmed') === 5, 'all five confirmed')
      for (const s of shares) expect(await shareRecords(d, s.shareId)).toHaveLength(1)
      expect(store.db.prepare('SELECT count(*) AS n FROM chain_txs').get()).toEqual({ n: 5 })
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('replaces a transaction stuck in the pool by one with the same nonce and a higher gas price: one record', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    await d.rpc.call('evm_setAutomine', [false])
    try {
      audit = auditService(store.db, store.dir, settings(d, { resendAfterSeconds: 0.2 }))
      await audit.start()
      const share = queueShare(store.db)
      const txs = () =>
        store.db.prepare('SELECT nonce, raw FROM chain_txs ORDER BY id').all() as {
          nonce: number
          raw: string
        }[]
      await waitFor(() => txs().length >= 2, 'a replacement transaction')
      const [first, second] = txs().map((t) => Transaction.from(t.raw))
      expect(second!.nonce).toBe(first!.nonce)
      expect(second!.data).toBe(first!.data)
      expect(second!.gasPrice! * 100n).toBeGreaterThanOrEqual(first!.gasPrice! * 125n)
      await d.rpc.call('evm_setAutomine', [true])
      await d.rpc.call('evm_mine', [])
      await waitFor(() => countState(store.db, 'confirmed') === 1, 'confirmation')
      const logs = await shareRecords(d, share.shareId)
      expect(logs).toHaveLength(1)
      const row = store.db.prepare('SELECT tx_hash FROM outbox').get() as { tx_hash: string }
      expect(row.tx_hash).toBe(logs[0]!.transactionHash)
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('replaces the transactions queued behind a stuck one too, each share its own, one record each', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    await d.rpc.call('evm_setAutomine', [false])
    try {
      audit = auditService(store.db, store.dir, settings(d, { resendAfterSeconds: 0.2 }))
      await audit.start()
      const shares = [queueShare(store.db), queueShare(store.db)]
      const txs = () =>
        store.db.prepare('SELECT nonce, raw FROM chain_txs ORDER BY id').all() as {
          nonce: number
          raw: string
        }[]
      const perNonce = () => {
        const count = new Map<number, number>()
        for (const t of txs()) count.set(t.nonce, (count.get(t.nonce) ?? 0) + 1)
        return count
      }
      // Both were sent at once (maxInFlight); the second waits behind the first, priced alike.
      await waitFor(() => {
        const count = perNonce()
        return count.size === 2 && [...count.values()].every((n) => n >= 2)
      }, 'a replacement of each')
      await d.rpc.call('evm_setAutomine', [true])
      await d.rpc.call('evm_mine', [])
      await waitFor(() => countState(store.db, 'confirmed') === 2, 'both confirmed')
      const rows = store.db.prepare('SELECT share_id, tx_hash FROM outbox ORDER BY id').all() as {
        share_id: string
        tx_hash: string
      }[]
      for (const share of shares) {
        const logs = await shareRecords(d, share.shareId)
        expect(logs).toHaveLength(1)
        expect(rows.find((r) => r.share_id === share.shareId)?.tx_hash).toBe(logs[0]!.transactionHash)
      }
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('finds its own record instead of recording twice after the database is restored from an earlier backup', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    audit = auditService(store.db, store.dir, settings(d))
    await audit.start()
    const share = queueShare(store.db)
    await waitFor(() => countState(store.db, 'confirmed') === 1, 'first confirmation')
    await audit.stop()
    // As if the database were restored from a backup taken before the confirmation was written.
    store.db.prepare(`UPDATE outbox SET state = 'pending', tx_hash = NULL, block_number = NULL`).run()
    store.db.prepare('DELETE FROM chain_txs').run()
    store.db.prepare(`DELETE FROM node_state WHERE key = 'audit.next_nonce'`).run()
    audit = auditService(store.db, store.dir, settings(d))
    await audit.start()
    await waitFor(() => countState(store.db, 'confirmed') === 1, 'resolution of the duplicate')
    expect(await shareRecords(d, share.shareId)).toHaveLength(1)
    expect(store.db.prepare('SELECT count(*) AS n FROM chain_txs').get()).toEqual({ n: 0 })
  })

  it('re-sends a transaction a reorg took out before it had its confirmations', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    audit = auditService(store.db, store.dir, settings(d, { confirmations: 2 }))
    await audit.start()
    const parties = await boundParties(audit, store.db, chain.url, { mine: true })
    const snapshot = await d.rpc.call<string>('evm_snapshot', [])
    const share = queueShare(store.db, parties.share)
    const mined = () =>
      store.db.prepare(`SELECT tx_hash FROM chain_txs WHERE state = 'sent'`).get() as
        | { tx_hash: string }
        | undefined
    await waitFor(async () => {
      const tx = mined()
      return tx !== undefined && (await d.rpc.call('eth_getTransactionReceipt', [tx.tx_hash])) !== null
    }, 'the transaction mined once')
    expect(countState(store.db, 'confirmed')).toBe(0) // one confirmation of two
    expect(await d.rpc.call('evm_revert', [snapshot])).toBe(true)
    expect(await shareRecords(d, share.shareId)).toHaveLength(0)
    await waitFor(async () => (await shareRecords(d, share.shareId)).length === 1, 'the record back on chain')
    await d.rpc.call('evm_mine', [])
    await waitFor(() => countState(store.db, 'confirmed') === 1, 'two confirmations')
    expect(await shareRecords(d, share.shareId)).toHaveLength(1)
    // The record is proven again; the share is not delivered yet, so that is what the check says.
    expect(await audit.verify(share.dataHash)).toMatchObject({ verified: false, reason: 'not_delivered' })
  })

  it('starts on the chain it knows while that chain does not answer, and publishes once it does', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    audit = auditService(store.db, store.dir, settings(d))
    await audit.start()
    await audit.stop()
    chain.signal('SIGSTOP')
    audit = auditService(store.db, store.dir, settings(d, { rpcTimeoutMs: 300, maxBackoffMs: 100 }))
    await audit.start()
    expect(audit.contractAddress?.toLowerCase()).toBe(d.record.contractAddress.toLowerCase())
    const share = queueShare(store.db)
    audit.poke()
    await waitFor(() => audit!.status().chainReachable === false, 'the publisher to see the chain down')
    chain.signal('SIGCONT')
    await waitFor(() => countState(store.db, 'confirmed') === 1, 'the share published')
    expect(await shareRecords(d, share.shareId)).toHaveLength(1)
  })

  it('keeps events queued while the chain is frozen, shows the lag, and drains by itself when it is back', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    audit = auditService(store.db, store.dir, settings(d, { rpcTimeoutMs: 300, maxBackoffMs: 100 }))
    await audit.start()
    chain.signal('SIGSTOP')
    const shares = Array.from({ length: 5 }, () => queueShare(store.db))
    audit.poke()
    await waitFor(() => audit!.status().chainReachable === false, 'the publisher to see the chain down')
    const down = audit.status()
    expect(down.lastError).toMatch(/^ChainUnavailableError/)
    expect(down.pending + down.sent).toBe(5)
    await waitFor(() => audit!.status().lagSeconds > 0.5, 'visible lag')
    chain.signal('SIGCONT')
    await waitFor(() => countState(store.db, 'confirmed') === 5, 'the queue to drain')
    expect(audit.status()).toMatchObject({ chainReachable: true, pending: 0, sent: 0, lagSeconds: 0 })
    for (const s of shares) expect(await shareRecords(d, s.shareId)).toHaveLength(1)
  })
})
