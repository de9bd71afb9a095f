import { existsSync } from 'node:fs'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RpcClient } from '../../node/audit/rpc-client.ts'
import { introduce, type LocalCluster, startLocalCluster } from '../../node/cli/commands/demo-cluster.ts'

/**
 * The whole node over real sockets: a Hardhat node, two nodes (libp2p on loopback, SQLite files,
 * key rings), a share through A's external API, delivery to B, B's signed receipt back at A, and the
 * audit verified from the chain.
 */

let cluster: LocalCluster
let keyA: string
let keyB: string

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function createKey(internalUrl: string, scopes: string[]): Promise<string> {
  const r = await json(`${internalUrl}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'e2e', scopes })
  })
  expect(r.status).toBe(201)
  return r.body['key'] as string
}

beforeAll(async () => {
  cluster = await startLocalCluster({ names: ['a', 'b'], logger: pino({ level: 'silent' }) })
  const [a, b] = cluster.nodes
  await introduce(a!, b!)
  keyA = await createKey(a!.internalUrl, ['share', 'read'])
  keyB = await createKey(b!.internalUrl, ['read'])
})

afterAll(async () => {
  const root = cluster?.rootDir
  await cluster?.stop()
  if (root) expect(existsSync(root)).toBe(false)
})

describe('share end to end', () => {
  it('delivers a share from A to B, brings back a receipt and verifies the audit on chain', async () => {
    const [a, b] = cluster.nodes as [
      NonNullable<(typeof cluster.nodes)[0]>,
      NonNullable<(typeof cluster.nodes)[0]>
    ]
    const data = `e2e record ${Date.now()} — ünïcödé`
    const shared = await json(`${a.externalUrl}/share_data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keyA },
      body: JSON.stringify({ data, recipient: b.peerId })
    })
    expect(shared.status).toBe(201)
    expect(shared.body).toMatchObject({ success: true, recipient: b.peerId, status: { delivery: 'queued' } })
    const shareId = shared.body['share_id'] as string
    const dataHash = shared.body['data_hash'] as string

    // Delivery and receipt: A's view of the share turns delivered once B's signed receipt is stored.
    const delivered = await until('delivery', async () => {
      const r = await json(`${a.externalUrl}/v1/shares/${shareId}`, { headers: { 'x-api-key': keyA } })
      const share = r.body['share'] as { status: { delivery: string } }
      return share.status.delivery === 'delivered' ? share : undefined
    })
    expect(delivered).toMatchObject({ recipient: b.peerId, direction: 'out' })
    expect(a.node.p2p.getShare(shareId).receipt?.body).toMatchObject({
      shareId,
      dataHash,
      recipient: b.peerId
    })

    // B decrypted and stored it under its own key ring; its API returns the plaintext.
    const onB = await json(`${b.externalUrl}/data/${dataHash}`, { headers: { 'x-api-key': keyB } })
    expect(onB.status).toBe(200)
    expect(onB.body).toMatchObject({ hash: dataHash, data })

    // The receipt's audit event is confirmed on chain and the API verifies it from the chain.
    const confirmed = await until('audit confirmation', async () => {
      const r = await json(`${a.externalUrl}/v1/shares/${shareId}`, { headers: { 'x-api-key': keyA } })
      const share = r.body['share'] as { status: { audit: string }; tx_hash: string | null }
      return share.status.audit === 'confirmed' && share.tx_hash ? share : undefined
    })
    const verified = await until('verification', async () => {
      const r = await json(`${a.externalUrl}/verify_data/${dataHash}`, { headers: { 'x-api-key': keyA } })
      return r.body['verified'] === true ? r.body : undefined
    })
    const evidence = verified['evidence'] as {
      tx_hash: string
      block_number: number
      contract_address: string
    }
    expect(verified).toMatchObject({ hash: dataHash, event_type: expect.any(String) })
    expect(evidence.contract_address.toLowerCase()).toBe(cluster.contractAddress.toLowerCase())

    // Independently of the node: the chain has that transaction, successful, with a log of the contract.
    const rpc = new RpcClient({ url: cluster.chainUrl, timeoutMs: 10_000 })
    const receipt = await rpc.call<{ status: string; blockNumber: string; logs: { address: string }[] }>(
      'eth_getTransactionReceipt',
      [evidence.tx_hash]
    )
    expect(receipt.status).toBe('0x1')
    expect(Number(receipt.blockNumber)).toBe(evidence.block_number)
    expect(receipt.logs.some((l) => l.address.toLowerCase() === cluster.contractAddress.toLowerCase())).toBe(
      true
    )
    expect(confirmed.tx_hash).toMatch(/^0x[0-9a-f]{64}$/)

    // B's own API sees the verification too: the chain is shared, not a local flag of A.
    const onChainForB = await json(`${b.externalUrl}/verify_data/${dataHash}`, {
      headers: { 'x-api-key': keyB }
    })
    expect(onChainForB.body['verified']).toBe(true)
  })
})
