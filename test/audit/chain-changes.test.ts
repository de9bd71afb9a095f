import { Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bytes16, TOPICS } from '../../node/audit/contract.ts'
import { freePort } from '../../node/audit/embedded-chain.ts'
import { getLogs } from '../../node/audit/event-index.ts'
import { type AuditService, auditHealthProbes, deployAuditTrail } from '../../node/audit/index.ts'
import { toHex } from '../../node/audit/rpc-client.ts'
import { CHAIN_KINDS, dropTransaction, type TestChain, testChain } from './chains.ts'
import {
  auditService,
  capturingLogger,
  countState,
  freshDeployment,
  queueShare,
  type TempStore,
  tempStore,
  waitFor
} from './helpers.ts'

type Deployment = Awaited<ReturnType<typeof freshDeployment>>

let store: TempStore | undefined
let audit: AuditService | undefined
afterEach(async () => {
  await audit?.stop()
  audit = undefined
  store?.cleanup()
  store = undefined
})

const txRows = (s: TempStore) =>
  s.db.prepare('SELECT job, tx_hash, state FROM chain_txs ORDER BY id').all() as {
    job: string
    tx_hash: string
    state: string
  }[]

const outboxRow = (s: TempStore, shareId: string) =>
  s.db
    .prepare(
      `SELECT state, tx_hash, last_error, chain_reset_at FROM outbox WHERE kind = 'share' AND share_id = ?`
    )
    .get(shareId) as {
    state: string
    tx_hash: string | null
    last_error: string | null
    chain_reset_at: string | null
  }

async function probe(a: AuditService, name: string) {
  const p = auditHealthProbes(a).find((x) => x.name === name)
  return (await p?.check()) as { status: string; detail?: Record<string, unknown> }
}

// One chain per kind, on a fixed port so that it can be restarted (a fresh chain) in place.
describe.each(CHAIN_KINDS)('chains that change under the publisher (%s)', (kind) => {
  let chain: TestChain
  let startedAt = 0
  beforeAll(async () => {
    chain = testChain(kind, { port: await freePort() })
    await chain.start()
    startedAt = Date.now()
  })
  afterAll(() => chain.stop())

  const settings = (d: Deployment, extra: Record<string, unknown> = {}) => ({
    rpcUrl: chain.url,
    privateKey: d.privateKey,
    contractAddress: d.record.contractAddress,
    fromBlock: d.record.deployBlock,
    checkIntervalSeconds: 0.1,
    ...extra
  })
  const records = (d: Deployment, shareId: string, fromBlock = d.record.deployBlock) =>
    getLogs(
      d.rpc,
      d.record.contractAddress,
      [TOPICS.ShareRecorded, bytes16(shareId).padEnd(66, '0')],
      fromBlock
    )

  it('settles a job with its earlier transaction when the replacement finds their nonce spent: one record', async () => {
    const s = tempStore()
    store = s
    const d = await freshDeployment(chain.url)
    await d.rpc.call('evm_setAutomine', [false])
    try {
      audit = auditService(s.db, s.dir, settings(d, { resendAfterSeconds: 0.2 }))
      await audit.start()
      const share = queueShare(s.db)
      await waitFor(() => txRows(s).length >= 2, 'a replacement transaction')
      await audit.stop()
      audit = undefined
      const [first, second] = txRows(s)
      // The replacement leaves the pool; the first transaction comes back and is mined.
      await dropTransaction(d.rpc, kind, second!.tx_hash)
      const raw = (
        s.db.prepare('SELECT raw FROM chain_txs WHERE tx_hash = ?').get(first!.tx_hash) as { raw: string }
      ).raw
      // anvil may still hold it beside its replacement: it is sent again only when the pool lost it.
      if ((await d.rpc.call('eth_getTransactionByHash', [first!.tx_hash])) === null) {
        await d.rpc.call('eth_sendRawTransaction', [raw])
      }
      await d.rpc.call('evm_mine', [])
      await d.rpc.call('evm_setAutomine', [true])
      audit = auditService(s.db, s.dir, settings(d))
      await audit.start()
      await waitFor(() => countState(s.db, 'confirmed') === 1, 'the job settled')
      expect(outboxRow(s, share.shareId).tx_hash).toBe(first!.tx_hash)
      expect((await records(d, share.shareId)).map((l) => l.transactionHash)).toEqual([first!.tx_hash])
      expect(txRows(s).map((t) => [t.tx_hash, t.state])).toEqual([
        [first!.tx_hash, 'confirmed'],
        [second!.tx_hash, 'dropped']
      ])
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('puts a job marked sent without a transaction in flight back on its own transaction, signing no other', async () => {
    const s = tempStore()
    store = s
    const d = await freshDeployment(chain.url)
    await d.rpc.call('evm_setAutomine', [false])
    try {
      audit = auditService(s.db, s.dir, settings(d))
      await audit.start()
      const share = queueShare(s.db)
      await waitFor(() => txRows(s).length === 1, 'a transaction in flight')
      await audit.stop()
      audit = undefined
      // As if the row of the transaction had been settled while its job stayed sent.
      s.db.prepare(`UPDATE chain_txs SET state = 'dropped'`).run()
      expect(countState(s.db, 'sent')).toBe(1)
      await d.rpc.call('evm_mine', [])
      await d.rpc.call('evm_setAutomine', [true])
      audit = auditService(s.db, s.dir, settings(d))
      await audit.start()
      await waitFor(() => countState(s.db, 'confirmed') === 1, 'the job confirmed')
      const [only] = txRows(s)
      expect(txRows(s)).toEqual([{ job: only!.job, tx_hash: only!.tx_hash, state: 'confirmed' }])
      expect((await records(d, share.shareId)).map((l) => l.transactionHash)).toEqual([only!.tx_hash])
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })

  it('sends a confirmed transaction the chain lost again with its own bytes: one record, never a second transaction', async () => {
    const s = tempStore()
    store = s
    const d = await freshDeployment(chain.url)
    const { logger, lines } = capturingLogger()
    audit = auditService(s.db, s.dir, settings(d), logger)
    await audit.start()
    const snapshot = await d.rpc.call<string>('evm_snapshot', [])
    const share = queueShare(s.db)
    audit.poke()
    await waitFor(() => countState(s.db, 'confirmed') === 1, 'the share confirmed')
    const [sent] = txRows(s)
    // The chain loses the block (like anvil losing its last second to a crash).
    expect(await d.rpc.call('evm_revert', [snapshot])).toBe(true)
    await waitFor(
      () => lines.some((l) => l['msg']?.toString().startsWith('confirmed audit transactions are missing')),
      'the node to notice'
    )
    await waitFor(async () => (await records(d, share.shareId)).length === 1, 'the record back on chain')
    await waitFor(() => countState(s.db, 'confirmed') === 1, 'confirmed again')
    expect((await records(d, share.shareId)).map((l) => l.transactionHash)).toEqual([sent!.tx_hash])
    expect(txRows(s).map((t) => [t.tx_hash, t.state])).toEqual([[sent!.tx_hash, 'confirmed']])
    // The evidence points at the transaction sent again: the one the chain holds now.
    expect((await audit.bundle(share.dataHash)).shares[0]?.shareAnchor).toMatchObject({
      txHash: sent!.tx_hash
    })
  })

  it('follows a confirmed transaction that a reorg moved into another block, sending nothing again', async () => {
    const s = tempStore()
    store = s
    const d = await freshDeployment(chain.url)
    audit = auditService(s.db, s.dir, settings(d))
    await audit.start()
    const snapshot = await d.rpc.call<string>('evm_snapshot', [])
    const share = queueShare(s.db)
    audit.poke()
    await waitFor(() => countState(s.db, 'confirmed') === 1, 'the share confirmed')
    await audit.stop()
    audit = undefined
    const before = s.db.prepare('SELECT tx_hash, raw, block_number FROM chain_txs').get() as {
      tx_hash: string
      raw: string
      block_number: number
    }
    // The block is reorged out and the same transaction lands one block later.
    expect(await d.rpc.call('evm_revert', [snapshot])).toBe(true)
    await d.rpc.call('evm_mine', [])
    await d.rpc.call('eth_sendRawTransaction', [before.raw])
    let receipt: { blockNumber: string } | null = null
    // anvil mines a sent transaction a moment after it answers.
    await waitFor(async () => {
      receipt = await d.rpc.call<{ blockNumber: string } | null>('eth_getTransactionReceipt', [
        before.tx_hash
      ])
      return receipt !== null
    }, 'the transaction mined again')
    expect(Number((receipt as { blockNumber: string } | null)?.blockNumber)).toBe(before.block_number + 1)
    audit = auditService(s.db, s.dir, settings(d))
    await audit.start()
    expect(s.db.prepare('SELECT tx_hash, state, block_number FROM chain_txs').all()).toEqual([
      { tx_hash: before.tx_hash, state: 'confirmed', block_number: before.block_number + 1 }
    ])
    expect(
      s.db.prepare(`SELECT state, block_number FROM outbox WHERE share_id = ?`).get(share.shareId)
    ).toEqual({
      state: 'confirmed',
      block_number: before.block_number + 1
    })
    expect((await records(d, share.shareId)).map((l) => l.transactionHash)).toEqual([before.tx_hash])
  })

  it('on a fresh chain, queues what was confirmed again marked chain_reset, pauses while the configured contract is missing, and publishes once it is back', async () => {
    const s = tempStore()
    store = s
    const d = await freshDeployment(chain.url)
    const { logger, lines } = capturingLogger()
    audit = auditService(s.db, s.dir, settings(d, { rpcTimeoutMs: 1_000, maxBackoffMs: 100 }), logger)
    await audit.start()
    const before = queueShare(s.db)
    audit.poke()
    await waitFor(() => countState(s.db, 'confirmed') === 1, 'the first share confirmed')
    const lost = outboxRow(s, before.shareId).tx_hash
    // Two chains started within one second can have the same genesis block.
    await waitFor(() => Math.floor(Date.now() / 1000) > Math.floor(startedAt / 1000), 'a new second')
    await chain.stop()
    await chain.start()
    startedAt = Date.now()

    await waitFor(async () => (await probe(audit!, 'chain')).status === 'degraded', 'health degraded')
    expect((await probe(audit, 'chain')).detail?.['reason']).toMatch(
      /^no AuditTrail contract at 0x[0-9a-fA-F]{40} \(the configured address\)/
    )
    const resets = lines.filter(
      (l) => l['msg'] === 'audit chain was reset or replaced: its confirmed events are queued again'
    )
    expect(resets).toMatchObject([
      { level: 50, reason: expect.stringMatching(/genesis block changed/), confirmed: 1 }
    ])
    expect(outboxRow(s, before.shareId)).toMatchObject({
      state: 'pending',
      tx_hash: null,
      last_error: expect.stringMatching(/^chain_reset: /),
      chain_reset_at: expect.any(String)
    })
    expect(txRows(s).find((t) => t.tx_hash === lost)?.state).toBe('chain_reset')
    const during = queueShare(s.db)
    audit.poke()
    // Paused: nothing is signed for a contract that is not there.
    await waitFor(() => audit!.status().pending >= 2, 'the new share queued')
    expect(txRows(s).filter((t) => t.state === 'sent')).toEqual([])

    // The operator deploys it again (same account, same nonce: the same address).
    await d.rpc.call('hardhat_setBalance', [d.address, toHex(10n ** 21n)])
    const again = await deployAuditTrail(d.rpc, new Wallet(d.privateKey))
    expect(again.contractAddress).toBe(d.record.contractAddress)
    await waitFor(() => countState(s.db, 'confirmed') === 2, 'both shares published')
    for (const share of [before, during]) expect(await records(d, share.shareId, 0)).toHaveLength(1)
    expect(outboxRow(s, before.shareId).tx_hash).not.toBe(lost)
    expect((await audit.bundle(before.dataHash)).shares[0]?.shareAnchor).toMatchObject({
      txHash: outboxRow(s, before.shareId).tx_hash
    })
    // Health stays degraded for a while with the reset, so that monitoring sees it.
    expect(await probe(audit, 'chain')).toMatchObject({
      status: 'degraded',
      detail: { reason: expect.stringMatching(/^chain_reset: /) }
    })
  })

  it('degrades health and warns once when the oldest unconfirmed event waits longer than chain.lagWarnSeconds', async () => {
    const s = tempStore()
    store = s
    const d = await freshDeployment(chain.url)
    const { logger, lines } = capturingLogger()
    await d.rpc.call('evm_setAutomine', [false])
    try {
      audit = auditService(
        s.db,
        s.dir,
        settings(d, { lagWarnSeconds: 0.5, resendAfterSeconds: 3600 }),
        logger
      )
      await audit.start()
      queueShare(s.db)
      audit.poke()
      await waitFor(async () => (await probe(audit!, 'outbox')).status === 'degraded', 'the outbox degraded')
      await waitFor(() => audit!.status().lagSeconds > 2.5, 'the lag well past the threshold')
      const warnings = lines.filter((l) => String(l['msg']).startsWith('audit outbox lags'))
      expect(warnings).toMatchObject([{ level: 40, lagWarnSeconds: 0.5 }])
      await d.rpc.call('evm_mine', [])
      await waitFor(() => countState(s.db, 'confirmed') === 1, 'the share confirmed')
      await waitFor(async () => (await probe(audit!, 'outbox')).status === 'up', 'the outbox up again')
      expect(lines.filter((l) => String(l['msg']).startsWith('audit outbox lags'))).toHaveLength(1)
    } finally {
      await d.rpc.call('evm_setAutomine', [true])
    }
  })
})
