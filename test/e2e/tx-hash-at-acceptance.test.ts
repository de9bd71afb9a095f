import { existsSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { bytes16, TOPICS } from '../../node/audit/contract.ts'
import { getLogs } from '../../node/audit/event-index.ts'
import { RpcClient, type RpcLog } from '../../node/audit/rpc-client.ts'
import {
  type ClusterNode,
  type LocalCluster,
  startLocalCluster
} from '../../node/cli/commands/demo-cluster.ts'

/**
 * `tx_hash` in the answer that accepts a share, over real sockets: a Hardhat node, a node with its
 * SQLite file and key ring, its external API. In per-share mode the 201 names the transaction that
 * later records the share on chain; a replacement shows in `/v1/shares`; batch mode says why there
 * is none. The recipient is a PeerId nobody runs: delivery waits, which keeps the share's own
 * transaction as its `tx_hash` (a receipt's anchor would take over once there is one).
 */

let cluster: LocalCluster | undefined
afterEach(async () => {
  const root = cluster?.rootDir
  await cluster?.stop()
  cluster = undefined
  if (root) expect(existsSync(root)).toBe(false)
})

type Body = Record<string, unknown>
type ShareJson = { tx_hash: string | null; tx_hash_pending_reason: string | null; status: { audit: string } }

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Body }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A one-node cluster with an API key that may share and read. */
async function startNode(init: { chainMode: 'per-share' | 'batch'; resendAfterSeconds?: number }) {
  cluster = await startLocalCluster({ names: ['a'], logger: pino({ level: 'silent' }), ...init })
  const a = cluster.nodes[0] as ClusterNode
  const created = await json(`${a.internalUrl}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tx-hash', scopes: ['share', 'read'] })
  })
  expect(created.status).toBe(201)
  const key = created.body['key'] as string
  const rpc = new RpcClient({ url: cluster.chainUrl, timeoutMs: 10_000 })
  const recipient = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const post = (path: '/share_data' | '/v1/shares', data: string) =>
    json(`${a.externalUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ data, recipient })
    })
  const get = async (shareId: string) =>
    (await json(`${a.externalUrl}/v1/shares/${shareId}`, { headers: { 'x-api-key': key } })).body[
      'share'
    ] as ShareJson
  const list = async () =>
    (await json(`${a.externalUrl}/v1/shares`, { headers: { 'x-api-key': key } })).body[
      'shares'
    ] as (ShareJson & {
      id: string
    })[]
  const recorded = (c: LocalCluster, shareId: string): Promise<RpcLog[]> =>
    getLogs(rpc, c.contractAddress, [TOPICS.ShareRecorded, bytes16(shareId).padEnd(66, '0')], 0)
  // Signing at acceptance on, and the node's own registration confirmed: a transaction left in the
  // pool ahead of the share's would hold the share's back (a later nonce is not mined before it).
  const ready = () =>
    until('signing at acceptance and an idle outbox', async () => {
      const s = a.node.audit.status()
      return s.signsAtAcceptance && s.pending === 0 && s.sent === 0 ? true : undefined
    })
  return {
    a,
    rpc,
    post,
    get,
    list,
    ready,
    recorded: (shareId: string) => recorded(cluster as LocalCluster, shareId)
  }
}

describe('tx_hash at acceptance', { timeout: 120_000 }, () => {
  it('answers the 201 of POST /share_data and POST /v1/shares with the transaction that records the share on chain (per-share mode)', async () => {
    const n = await startNode({ chainMode: 'per-share' })
    await n.ready()

    const anchor = await n.post('/share_data', `tx at acceptance ${Date.now()}`)
    expect(anchor.status).toBe(201)
    expect(anchor.body).toMatchObject({
      success: true,
      tx_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      tx_hash_pending_reason: null,
      status: { delivery: 'queued', audit: 'sent' }
    })
    const v1 = await n.post('/v1/shares', `tx at acceptance, v1 ${Date.now()}`)
    expect(v1.status).toBe(201)
    const v1Share = v1.body['share'] as ShareJson & { id: string }
    expect(v1Share).toMatchObject({
      tx_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      tx_hash_pending_reason: null
    })

    const accepted: [shareId: string, txHash: string][] = [
      [anchor.body['share_id'] as string, anchor.body['tx_hash'] as string],
      [v1Share.id, v1Share.tx_hash as string]
    ]
    for (const [shareId, txHash] of accepted) {
      const logs = await until('the ShareRecorded event', async () => {
        const found = await n.recorded(shareId)
        return found.length > 0 ? found : undefined
      })
      expect(logs.map((l) => l.transactionHash)).toEqual([txHash])
      const receipt = await n.rpc.call<{ status: string }>('eth_getTransactionReceipt', [txHash])
      expect(receipt.status).toBe('0x1')
      const confirmed = await until('the share confirmed', async () => {
        const share = await n.get(shareId)
        return share.status.audit === 'confirmed' ? share : undefined
      })
      expect(confirmed.tx_hash).toBe(txHash)
    }
  })

  it('shows the replacement of a transaction stuck in the pool in GET /v1/shares/{id} and the list', async () => {
    const n = await startNode({ chainMode: 'per-share', resendAfterSeconds: 0.3 })
    await n.ready()
    await n.rpc.call('evm_setAutomine', [false])
    try {
      const shared = await n.post('/share_data', `stuck in the pool ${Date.now()}`)
      expect(shared.status).toBe(201)
      const shareId = shared.body['share_id'] as string
      const accepted = shared.body['tx_hash'] as string
      expect(accepted).toMatch(/^0x[0-9a-f]{64}$/)
      const replaced = await until('a replacement', async () => {
        const share = await n.get(shareId)
        return share.tx_hash !== accepted ? share.tx_hash : undefined
      })
      expect(replaced).toMatch(/^0x[0-9a-f]{64}$/)
      expect((await n.list()).find((s) => s.id === shareId)?.tx_hash).not.toBe(accepted)

      await n.rpc.call('evm_setAutomine', [true])
      await n.rpc.call('evm_mine', [])
      const confirmed = await until('the share confirmed', async () => {
        const share = await n.get(shareId)
        return share.status.audit === 'confirmed' ? share : undefined
      })
      const logs = await n.recorded(shareId)
      expect(logs).toHaveLength(1)
      expect(confirmed.tx_hash).toBe(logs[0]!.transactionHash)
      expect(confirmed.tx_hash).not.toBe(accepted)
      expect((await n.list()).find((s) => s.id === shareId)?.tx_hash).toBe(confirmed.tx_hash)
    } finally {
      await n.rpc.call('evm_setAutomine', [true])
    }
  })

  it('answers tx_hash null with the reason `batch` in batch mode', async () => {
    const n = await startNode({ chainMode: 'batch' })
    const shared = await n.post('/share_data', `batched ${Date.now()}`)
    expect(shared.status).toBe(201)
    expect(shared.body).toMatchObject({
      success: true,
      tx_hash: null,
      tx_hash_pending_reason: 'batch',
      status: { delivery: 'queued', audit: 'pending' }
    })
    const v1 = await n.post('/v1/shares', `batched, v1 ${Date.now()}`)
    expect(v1.body['share']).toMatchObject({ tx_hash: null, tx_hash_pending_reason: 'batch' })
    expect(await n.get(shared.body['share_id'] as string)).toMatchObject({
      tx_hash: null,
      tx_hash_pending_reason: 'batch'
    })
    expect(n.a.node.audit.status().signsAtAcceptance).toBe(false)
  })
})
