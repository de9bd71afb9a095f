import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkBundle } from '../../node/audit/bundle-check.ts'
import { RpcClient } from '../../node/audit/rpc-client.ts'
import {
  type ClusterNode,
  introduce,
  type LocalCluster,
  startLocalCluster
} from '../../node/cli/commands/demo-cluster.ts'

/**
 * Every party sees the trail (docs/AUDIT.md): one share from A to B, addressed by B's Ethereum
 * address, on two whole nodes over real sockets and a Hardhat node. Both list it with its parties,
 * tier, time and audit state, both verify it, and B's own evidence bundle checks against the chain.
 */

let cluster: LocalCluster
let a: ClusterNode
let b: ClusterNode
const keys = new Map<ClusterNode, string>()

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const get = (node: ClusterNode, path: string) =>
  json(`${node.externalUrl}${path}`, { headers: { 'x-api-key': keys.get(node) as string } })

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  cluster = await startLocalCluster({ names: ['a', 'b'], logger: pino({ level: 'silent' }) })
  ;[a, b] = cluster.nodes as [ClusterNode, ClusterNode]
  await introduce(a, b)
  for (const node of [a, b]) {
    const r = await json(`${node.internalUrl}/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'every-party', scopes: ['share', 'read'] })
    })
    keys.set(node, r.body['key'] as string)
  }
})

afterAll(() => cluster?.stop())

type Share = {
  id: string
  direction: string
  sender: string
  recipient: string
  recipient_label: string
  security_tier: string
  status: { delivery: string; audit: string }
  tx_hash: string | null
  created_at: string
}
type HistoryItem = Record<string, unknown>

describe('every party sees the trail', { timeout: 120_000 }, () => {
  it('lists and verifies a share on its sender and its recipient, and the recipient exports a bundle that checks', async () => {
    // The client names B by its Ethereum address, in the case it happens to have at hand.
    const label = b.ethAddress.toLowerCase()
    const shared = await json(`${a.externalUrl}/share_data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keys.get(a) as string },
      body: JSON.stringify({ data: `for B ${Date.now()}`, recipient: label })
    })
    expect(shared.status).toBe(201)
    const shareId = shared.body['share_id'] as string
    const dataHash = shared.body['data_hash'] as string

    // Each side's view of the share, once its audit is complete there.
    const viewOf = (node: ClusterNode) =>
      until(`the share confirmed on ${node.name}`, async () => {
        const r = await get(node, `/v1/shares/${shareId}`)
        const share = r.status === 200 ? (r.body['share'] as Share) : undefined
        return share?.status.audit === 'confirmed' ? share : undefined
      })
    const [onA, onB] = await Promise.all([viewOf(a), viewOf(b)])
    const parties = { sender: a.peerId, recipient: b.peerId, security_tier: 'standard' }
    expect(onA).toMatchObject({ ...parties, direction: 'out', recipient_label: label })
    expect(onB).toMatchObject({ ...parties, direction: 'in', status: { delivery: 'received' } })
    for (const share of [onA, onB]) expect(share.tx_hash).toMatch(/^0x[0-9a-f]{64}$/)
    const listed = await get(b, '/v1/shares')
    expect((listed.body['shares'] as Share[]).map((s) => [s.id, s.status.audit])).toEqual([
      [shareId, 'confirmed']
    ])

    // Both histories, on the anchor's path and under /v1, hold the share record and the receipt.
    for (const node of [a, b]) {
      for (const path of ['/compliance_history', '/v1/audit']) {
        const r = await get(node, `${path}?data_hash=${dataHash}`)
        const items = r.body['history'] as HistoryItem[]
        expect([node.name, path, items.map((i) => i['event_type']).sort()]).toEqual([
          node.name,
          path,
          ['data_share', 'delivery_receipt']
        ])
        for (const item of items) {
          expect(item).toMatchObject({
            share_id: shareId,
            data_hash: dataHash,
            sender: a.peerId,
            // The anchor's path names the recipient as the sender's client did (by address), /v1 by
            // PeerId; on B, which received the share, both name B's PeerId.
            recipient: path === '/compliance_history' && node === a ? label : b.peerId,
            // The sender's client named B by address; the recipient's client named nobody.
            recipient_label: node === a ? label : null,
            tx_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/)
          })
          expect(item['timestamp']).toEqual(expect.any(Number))
        }
      }
    }

    // Both verify it from the chain.
    for (const node of [a, b]) {
      const v = await get(node, `/verify_data/${dataHash}`)
      expect([node.name, v.body['verified']]).toEqual([node.name, true])
    }

    // B's evidence bundle, checked with nothing but the chain.
    const bundle = await get(b, `/v1/audit/${dataHash}/bundle`)
    expect(bundle.status).toBe(200)
    const check = await checkBundle(bundle.body, {
      rpc: new RpcClient({ url: cluster.chainUrl, timeoutMs: 10_000 })
    })
    expect(check).toMatchObject({
      verified: true,
      shares: [{ shareId, sender: a.peerId, recipient: b.peerId, verified: true }]
    })
  })
})
