import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Transaction } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bytes16, TOPICS } from '../../node/audit/contract.ts'
import { getLogs } from '../../node/audit/event-index.ts'
import { type AuditService, auditHooks, EmbeddedChain } from '../../node/audit/index.ts'
import type { RpcReceipt } from '../../node/audit/rpc-client.ts'
import {
  auditService,
  countState,
  freshDeployment,
  queueShare,
  storeReceipt,
  type TempStore,
  tempStore,
  waitFor
} from './helpers.ts'

/**
 * Per-share mode signs a share's record in the SQLite transaction that accepts the share, so its
 * hash is known before anything reaches the chain; the publisher broadcasts it later. Real Hardhat
 * node, real SQLite file, the hooks the node itself hands to its p2p layer.
 */

const FIXTURE = fileURLToPath(new URL('./fixtures/accept-and-die.ts', import.meta.url))

const chain = new EmbeddedChain()
beforeAll(() => chain.start())
afterAll(() => chain.stop())

let store: TempStore
let audit: AuditService | undefined
let child: ChildProcess | undefined
afterEach(async () => {
  child?.kill('SIGKILL')
  chain.signal('SIGCONT')
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

async function started(d: Deployment, extra: Record<string, unknown> = {}): Promise<AuditService> {
  audit = auditService(store.db, store.dir, settings(d, extra))
  await audit.start()
  return audit
}

async function shareRecords(d: Deployment, shareId: string) {
  return getLogs(
    d.rpc,
    d.record.contractAddress,
    [TOPICS.ShareRecorded, bytes16(shareId).padEnd(66, '0')],
    d.record.deployBlock
  )
}

const outboxOf = (shareId: string) =>
  store.db
    .prepare(
      `SELECT state, tx_hash AS txHash, tx_nonce AS nonce FROM outbox WHERE share_id = ? AND kind = 'share'`
    )
    .get(shareId) as { state: string; txHash: string | null; nonce: number | null }

const receiptOutboxOf = (shareId: string) =>
  store.db
    .prepare(`SELECT state, tx_hash AS txHash FROM outbox WHERE share_id = ? AND kind = 'receipt'`)
    .get(shareId) as { state: string; txHash: string | null }

/** The JSON-RPC requests `a` sent so far, by method. */
const callsOf = (a: AuditService) =>
  Object.fromEntries(a.rpcCallCounts().map((c) => [c.method, c.count])) as Record<string, number | undefined>

const chainTxs = () =>
  store.db
    .prepare(
      'SELECT job, nonce, tx_hash AS txHash, raw, state, awaiting_broadcast AS awaiting FROM chain_txs ORDER BY id'
    )
    .all() as { job: string; nonce: number; txHash: string; raw: string; state: string; awaiting: number }[]

describe('the transaction of a share, signed when the share is accepted', () => {
  it('is known when the share commits, and is the very transaction that records the share on chain', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    const a = await started(d)
    await waitFor(() => a.status().signsAtAcceptance, 'the chain facts for signing')
    const share = queueShare(store.db, { hooks: auditHooks(a) })
    // Read in the same turn as the commit: the publisher has had no chance to run.
    const row = outboxOf(share.shareId)
    expect(row).toMatchObject({ state: 'sent', txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    const [signed] = chainTxs()
    expect(signed).toMatchObject({ txHash: row.txHash, awaiting: 1, state: 'sent', nonce: row.nonce })

    await waitFor(() => countState(store.db, 'confirmed') === 1, 'confirmation')
    const logs = await shareRecords(d, share.shareId)
    expect(logs.map((l) => l.transactionHash)).toEqual([row.txHash])
    expect(outboxOf(share.shareId)).toMatchObject({ state: 'confirmed', txHash: row.txHash })
    // The gas limit signed at acceptance holds what the record costs.
    const receipt = await d.rpc.call<RpcReceipt & { gasUsed: string }>('eth_getTransactionReceipt', [
      row.txHash
    ])
    expect(receipt.status).toBe('0x1')
    expect(BigInt(receipt.gasUsed)).toBeLessThan(Transaction.from(signed!.raw).gasLimit)
  })

  it('is not signed in batch mode: the share waits for its batch', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    const a = await started(d, { mode: 'batch', batchSize: 2 })
    const share = queueShare(store.db, { hooks: auditHooks(a) })
    expect(a.status().signsAtAcceptance).toBe(false)
    expect(outboxOf(share.shareId)).toMatchObject({ state: 'pending', txHash: null })
    expect(chainTxs()).toEqual([])
    queueShare(store.db, { hooks: auditHooks(a) })
    await waitFor(() => countState(store.db, 'confirmed') === 2, 'the batch confirmed')
    // The share's transaction is its batch's, signed when the batch was formed.
    const [batch] = chainTxs()
    expect(chainTxs()).toHaveLength(1)
    expect(batch).toMatchObject({ job: expect.stringMatching(/^batch:/), state: 'confirmed' })
    expect(outboxOf(share.shareId).txHash).toBe(batch!.txHash)
  })

  it('takes its nonce from the counter the publisher uses, and is broadcast in nonce order within maxInFlight', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    const a = await started(d, { maxInFlight: 3 })
    await waitFor(() => a.status().signsAtAcceptance, 'the chain facts for signing')
    await d.rpc.call('evm_setAutomine', [false])
    try {
      const hooks = auditHooks(a)
      const shares = Array.from({ length: 5 }, () => queueShare(store.db, { hooks }))
      const signed = chainTxs()
      const first = signed[0]!.nonce
      expect(signed.map((t) => t.nonce)).toEqual([first, first + 1, first + 2, first + 3, first + 4])
      const inPool = async () => {
        const seen = await Promise.all(
          signed.map((t) => d.rpc.call<unknown>('eth_getTransactionByHash', [t.txHash]))
        )
        return seen.map((tx) => tx !== null)
      }
      await waitFor(async () => (await inPool()).filter(Boolean).length === 3, 'three broadcast')
      expect(await inPool()).toEqual([true, true, true, false, false])
      expect(chainTxs().map((t) => t.awaiting)).toEqual([0, 0, 0, 1, 1])
      // A job of the publisher's own (a receipt's anchor) queued meanwhile gets the next nonce.
      storeReceipt(store.db, shares[0]!)
      a.poke()
      await d.rpc.call('evm_setAutomine', [true])
      await d.rpc.call('evm_mine', [])
      await waitFor(() => countState(store.db, 'confirmed') === 6, 'five records and a receipt confirmed')
      const txs = chainTxs()
      expect(txs.map((t) => [t.nonce, t.state])).toEqual(
        [0, 1, 2, 3, 4, 5].map((i) => [first + i, 'confirmed'])
      )
      for (const [i, s] of shares.entries()) {
        expect((await shareRecords(d, s.shareId)).map((l) => l.transactionHash)).toEqual([signed[i]!.txHash])
      }
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('follows a replacement: the share shows the transaction that replaced the one stuck in the pool', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    const a = await started(d, { resendAfterSeconds: 0.2 })
    await waitFor(() => a.status().signsAtAcceptance, 'the chain facts for signing')
    await d.rpc.call('evm_setAutomine', [false])
    try {
      const share = queueShare(store.db, { hooks: auditHooks(a) })
      const accepted = outboxOf(share.shareId).txHash
      await waitFor(() => outboxOf(share.shareId).txHash !== accepted, 'a replacement')
      const [old, replacement] = chainTxs().map((t) => Transaction.from(t.raw))
      expect(replacement!.nonce).toBe(old!.nonce)
      expect(replacement!.gasPrice! * 100n).toBeGreaterThanOrEqual(old!.gasPrice! * 125n)
      await d.rpc.call('evm_setAutomine', [true])
      await d.rpc.call('evm_mine', [])
      await waitFor(() => countState(store.db, 'confirmed') === 1, 'confirmation')
      const logs = await shareRecords(d, share.shareId)
      expect(logs).toHaveLength(1)
      expect(outboxOf(share.shareId).txHash).toBe(logs[0]!.transactionHash)
      expect(logs[0]!.transactionHash).not.toBe(accepted)
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('is left to the publisher when the chain has not answered since start: the share is accepted all the same', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    await (await started(d)).stop()
    chain.signal('SIGSTOP')
    const a = await started(d, { rpcTimeoutMs: 300, maxBackoffMs: 100 })
    const share = queueShare(store.db, { hooks: auditHooks(a) })
    expect(a.status().signsAtAcceptance).toBe(false)
    expect(outboxOf(share.shareId)).toMatchObject({ state: 'pending', txHash: null })
    expect(chainTxs()).toEqual([])
    await waitFor(() => a.status().chainReachable === false, 'the publisher to see the chain down')
    chain.signal('SIGCONT')
    await waitFor(() => countState(store.db, 'confirmed') === 1, 'the share published')
    const logs = await shareRecords(d, share.shareId)
    expect(logs.map((l) => l.transactionHash)).toEqual([outboxOf(share.shareId).txHash])
    expect(a.status().signsAtAcceptance).toBe(true)
  })

  it('is broadcast exactly once after the node died between accepting the share and broadcasting', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    child = spawn(
      process.execPath,
      [FIXTURE, store.path, chain.url, d.privateKey, d.record.contractAddress, String(d.record.deployBlock)],
      { stdio: ['ignore', 'ignore', 'inherit'] }
    )
    const exit = await new Promise<NodeJS.Signals | null>((resolve) =>
      child!.once('exit', (_code, sig) => resolve(sig))
    )
    child = undefined
    expect(exit).toBe('SIGKILL')
    const [signed] = chainTxs()
    expect(chainTxs()).toHaveLength(1)
    expect(signed).toMatchObject({ awaiting: 1, state: 'sent' })
    const { share_id: shareId } = store.db
      .prepare(`SELECT share_id FROM outbox WHERE kind = 'share'`)
      .get() as {
      share_id: string
    }
    expect(outboxOf(shareId)).toMatchObject({ state: 'sent', txHash: signed!.txHash })
    expect(await d.rpc.call('eth_getTransactionByHash', [signed!.txHash])).toBeNull()

    await started(d)
    await waitFor(() => countState(store.db, 'confirmed') === 1, 'confirmation after restart')
    const logs = await shareRecords(d, shareId)
    expect(logs.map((l) => l.transactionHash)).toEqual([signed!.txHash])
    expect(chainTxs().map((t) => [t.txHash, t.state])).toEqual([[signed!.txHash, 'confirmed']])
  })

  it("signs a receipt's anchor when the receipt is stored, and that very transaction anchors it; gas is estimated once per start, not per event", async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    const a = await started(d)
    await waitFor(() => a.status().signsAtAcceptance, 'the chain facts for signing')
    const estimatesAtStart = callsOf(a)['eth_estimateGas'] ?? 0
    const hooks = auditHooks(a)
    const shares = Array.from({ length: 4 }, () => queueShare(store.db, { hooks }))
    for (const share of shares) storeReceipt(store.db, share, hooks)
    // Read in the same turn as the commits: signed in the receipt's own transaction.
    const signed = shares.map((share) => receiptOutboxOf(share.shareId))
    for (const row of signed) {
      expect(row).toMatchObject({ state: 'sent', txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    }
    await waitFor(() => countState(store.db, 'confirmed') === 8, 'four records and four receipts confirmed')
    for (const [i, share] of shares.entries()) {
      const logs = await getLogs(
        d.rpc,
        d.record.contractAddress,
        [TOPICS.ReceiptAnchored, bytes16(share.shareId).padEnd(66, '0')],
        d.record.deployBlock
      )
      expect(logs.map((l) => l.transactionHash)).toEqual([signed[i]!.txHash])
      expect(receiptOutboxOf(share.shareId)).toMatchObject({ state: 'confirmed', txHash: signed[i]!.txHash })
    }
    expect(callsOf(a)['eth_estimateGas'] ?? 0).toBe(estimatesAtStart)
    expect(estimatesAtStart).toBeGreaterThan(0)
  })

  it('asks about a transaction waiting in the pool once per new block or poll interval, however often the publisher is woken', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    const a = await started(d, { pollIntervalMs: 2_000 })
    await waitFor(() => a.status().signsAtAcceptance, 'the chain facts for signing')
    await d.rpc.call('evm_setAutomine', [false])
    try {
      queueShare(store.db, { hooks: auditHooks(a) })
      await waitFor(() => chainTxs()[0]?.awaiting === 0, 'the broadcast')
      const receiptsBefore = callsOf(a)['eth_getTransactionReceipt'] ?? 0
      const headsBefore = callsOf(a)['eth_blockNumber'] ?? 0
      // Forty wake-ups in about half a second, as shares and receipts would bring them.
      for (let i = 0; i < 40; i++) {
        a.poke()
        await new Promise((resolve) => setTimeout(resolve, 12))
      }
      // Each woken round reads the head; the transaction itself is asked about again only once the
      // poll interval (2 s) has passed since it was last found waiting: at most once here.
      expect((callsOf(a)['eth_blockNumber'] ?? 0) - headsBefore).toBeGreaterThan(10)
      expect((callsOf(a)['eth_getTransactionReceipt'] ?? 0) - receiptsBefore).toBeLessThanOrEqual(1)
      // A new block: asked at once, and confirmed.
      await d.rpc.call('evm_mine', [])
      a.poke()
      await waitFor(() => countState(store.db, 'confirmed') === 1, 'confirmation after the block')
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })
})
