import { afterEach, describe, expect, it } from 'vitest'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const tx = (job: string, nonce: number, txHash: string) => ({
  job,
  nonce,
  txHash,
  raw: `0x0${nonce}`,
  sentMs: 100
})

describe('chain transaction repository', () => {
  it('keeps transactions in flight in nonce order until they are settled', () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    txs.record(tx('outbox:2', 6, '0xb'))
    txs.record(tx('outbox:1', 5, '0xa'))
    expect(txs.inFlight()).toMatchObject([
      { job: 'outbox:1', nonce: 5, txHash: '0xa', raw: '0x05', state: 'sent', sentMs: 100 },
      { job: 'outbox:2', nonce: 6, txHash: '0xb' }
    ])
    const [first] = txs.inFlight()
    txs.settle(first?.id as number, 'confirmed', { number: 12, hash: '0xblock' })
    expect(
      t.db.prepare('SELECT state, block_number, block_hash FROM chain_txs WHERE tx_hash = ?').get('0xa')
    ).toEqual({ state: 'confirmed', block_number: 12, block_hash: '0xblock' })
    expect(txs.inFlight().map((x) => x.txHash)).toEqual(['0xb'])
  })

  it('notes a rebroadcast, drops a replaced transaction and, on a chain change, all in flight', () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    txs.record(tx('batch:1', 0, '0xa'))
    const [a] = txs.inFlight()
    txs.rebroadcast(a?.id as number, 5_000)
    expect(txs.inFlight()[0]?.sentMs).toBe(5_000)
    txs.drop(a?.id as number)
    txs.record(tx('batch:1', 0, '0xa2'))
    txs.record(tx('log:3', 1, '0xc'))
    expect(txs.inFlight().map((x) => x.txHash)).toEqual(['0xa2', '0xc'])
    expect(txs.dropAllInFlight()).toBe(2)
    expect(txs.inFlight()).toEqual([])
  })

  it('keeps a transaction signed at acceptance awaiting its first broadcast until it is noted as broadcast', () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    txs.record(tx('outbox:1', 4, '0xa'))
    txs.record({ ...tx('outbox:2', 5, '0xb'), awaitingBroadcast: true })
    expect(txs.inFlight().map((x) => [x.txHash, x.awaitingBroadcast])).toEqual([
      ['0xa', false],
      ['0xb', true]
    ])
    txs.rebroadcast(txs.inFlight()[1]?.id as number, 7_000)
    expect(txs.inFlight()[1]).toMatchObject({ txHash: '0xb', awaitingBroadcast: false, sentMs: 7_000 })
  })

  it('gives the first transactions in flight by nonce when asked for a number of them', () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    for (const nonce of [7, 3, 9, 5]) txs.record(tx(`outbox:${nonce}`, nonce, `0x${nonce}`))
    expect(txs.inFlight(2).map((x) => x.nonce)).toEqual([3, 5])
    expect(txs.inFlight().map((x) => x.nonce)).toEqual([3, 5, 7, 9])
  })

  it('lists the hashes of confirmed transactions only, oldest first', () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    txs.record(tx('outbox:1', 0, '0xa'))
    txs.record(tx('outbox:2', 1, '0xb'))
    txs.record(tx('outbox:3', 2, '0xc'))
    const [a, b, c] = txs.inFlight()
    txs.settle(c?.id as number, 'confirmed', { number: 3, hash: '0xb3' })
    txs.settle(a?.id as number, 'confirmed', { number: 1, hash: '0xb1' })
    txs.drop(b?.id as number)
    expect(txs.confirmedHashes()).toEqual(['0xa', '0xc'])
  })

  it('lists every transaction of a job, and the confirmed ones by nonce and by recency', () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    txs.record(tx('outbox:1', 4, '0xa'))
    txs.record(tx('outbox:2', 5, '0xb'))
    const [a, b] = txs.inFlight()
    txs.drop(a?.id as number)
    txs.record(tx('outbox:1', 4, '0xa2'))
    expect(txs.ofJob('outbox:1').map((x) => [x.txHash, x.state])).toEqual([
      ['0xa', 'dropped'],
      ['0xa2', 'sent']
    ])
    const a2 = txs.ofJob('outbox:1')[1]
    txs.settle(b?.id as number, 'confirmed', { number: 8, hash: '0xb8' })
    txs.settle(a2?.id as number, 'confirmed', { number: 9, hash: '0xb9' })
    expect(txs.confirmedFromNonce(5).map((x) => [x.txHash, x.blockNumber, x.blockHash])).toEqual([
      ['0xb', 8, '0xb8']
    ])
    expect(txs.confirmedFromNonce(0).map((x) => x.nonce)).toEqual([4, 5])
    expect(txs.confirmedNewestFirst(1).map((x) => x.txHash)).toEqual(['0xa2'])
  })

  it('puts a confirmed transaction back in flight without its block, and marks a lost chain chain_reset', () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    txs.record(tx('outbox:1', 0, '0xa'))
    txs.record(tx('outbox:2', 1, '0xb'))
    txs.record(tx('outbox:3', 2, '0xc'))
    const [a, b, c] = txs.inFlight()
    txs.settle(a?.id as number, 'confirmed', { number: 1, hash: '0xb1' })
    txs.settle(b?.id as number, 'reverted', { number: 2, hash: '0xb2' })
    txs.revive(a?.id as number, 7_000)
    expect(txs.inFlight()).toMatchObject([
      { txHash: '0xa', state: 'sent', sentMs: 7_000, blockNumber: null, blockHash: null },
      { txHash: '0xc' }
    ])
    txs.settle(a?.id as number, 'confirmed', { number: 3, hash: '0xb3' })
    expect(txs.markChainReset()).toBe(2)
    expect(txs.inFlight()).toEqual([])
    expect(t.db.prepare('SELECT tx_hash, state FROM chain_txs ORDER BY id').all()).toEqual([
      { tx_hash: '0xa', state: 'chain_reset' },
      { tx_hash: '0xb', state: 'reverted' },
      { tx_hash: '0xc', state: 'chain_reset' }
    ])
    expect(c?.txHash).toBe('0xc')
  })

  it("revives a lost chain's transaction signed again to the same bytes, and refuses a live one twice", () => {
    t = auditTestDb()
    const txs = t.repos.chainTxs
    txs.record(tx('outbox:1', 0, '0xa'))
    expect(txs.markChainReset()).toBe(1)
    txs.record(tx('outbox:1', 0, '0xa'))
    expect(txs.inFlight()).toMatchObject([{ txHash: '0xa', state: 'sent', blockNumber: null }])
    expect(() => txs.record(tx('outbox:1', 0, '0xa'))).toThrow(
      expect.objectContaining({ name: 'DuplicateTransactionError' })
    )
  })

  it('names the jobs marked sent that have no transaction in flight', () => {
    t = auditTestDb()
    const { outbox, chainTxs } = t.repos
    const event = (n: number) =>
      outbox.enqueue({
        kind: 'share',
        shareId: t.share(),
        dataHash: null,
        payload: '{}',
        leaf: n.toString(16).padStart(64, '0')
      }) as number
    const [inFlight, orphan, pending] = [event(1), event(2), event(3)]
    chainTxs.record(tx(`outbox:${inFlight}`, 0, '0xa'))
    outbox.markSent(inFlight, '0xa', 0)
    chainTxs.record(tx(`outbox:${orphan}`, 1, '0xb'))
    outbox.markSent(orphan, '0xb', 1)
    chainTxs.drop(chainTxs.ofJob(`outbox:${orphan}`)[0]?.id as number)
    expect(pending).toBeTypeOf('number')
    expect(chainTxs.orphanedJobs()).toEqual([`outbox:${orphan}`])
  })
})
