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
import { RemoteRefusalError } from '../../node/p2p/errors.ts'

/**
 * What only a share's sender holds reaches its recipient (docs/AUDIT.md, "Inbound shares"): three
 * whole nodes in batch mode over real sockets and a local chain. A sends to B; B's evidence bundle
 * of the batched share, built with A's answer over `/dmn/evidence/1.0.0`, checks against the chain
 * with nothing else, and B lists the share as confirmed. C, which received nothing, is refused.
 */

let cluster: LocalCluster
let a: ClusterNode
let b: ClusterNode
let c: ClusterNode
const keys = new Map<ClusterNode, string>()

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const get = (node: ClusterNode, path: string) =>
  json(`${node.externalUrl}${path}`, { headers: { 'x-api-key': keys.get(node) as string } })

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

beforeAll(async () => {
  cluster = await startLocalCluster({
    names: ['a', 'b', 'c'],
    logger: pino({ level: 'silent' }),
    chainMode: 'batch',
    batchSize: 4,
    batchIntervalSeconds: 1
  })
  ;[a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode]
  await introduce(a, b)
  await introduce(c, a)
  for (const node of [a, b]) {
    const r = await json(`${node.internalUrl}/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'inbound-evidence', scopes: ['share', 'read'] })
    })
    keys.set(node, r.body['key'] as string)
  }
}, 120_000)

afterAll(() => cluster?.stop())

type Share = { id: string; direction: string; status: { delivery: string; audit: string } }

describe('the evidence of a batched inbound share', { timeout: 120_000 }, () => {
  it("is in the recipient's bundle, which checks against the chain, and the recipient lists it confirmed", async () => {
    const shared = await json(`${a.externalUrl}/share_data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keys.get(a) as string },
      body: JSON.stringify({ data: `batched for B ${Date.now()}`, recipient: b.peerId })
    })
    expect(shared.status).toBe(201)
    const shareId = shared.body['share_id'] as string
    const dataHash = shared.body['data_hash'] as string
    const audit = (node: ClusterNode) => async () => {
      const r = await get(node, `/v1/shares/${shareId}`)
      const share = r.status === 200 ? (r.body['share'] as Share) : undefined
      return share?.status.audit === 'confirmed' ? share : undefined
    }
    await until('the share confirmed on A', audit(a))

    // No ShareRecorded names the share on chain: only A's answer gives B its anchors.
    const bundle = await until("the share in B's bundle", async () => {
      const r = await get(b, `/v1/audit/${dataHash}/bundle`)
      return r.status === 200 && (r.body['shares'] as unknown[]).length > 0 ? r.body : undefined
    })
    const [entry] = bundle['shares'] as Array<Record<string, { type: string } | null>>
    expect([entry?.['shareAnchor']?.type, entry?.['receiptAnchor']?.type]).toEqual(['batch', 'batch'])
    const check = await checkBundle(bundle, {
      rpc: new RpcClient({ url: cluster.chainUrl, timeoutMs: 10_000 })
    })
    expect(check).toMatchObject({
      verified: true,
      shares: [{ shareId, sender: a.peerId, recipient: b.peerId, verified: true }]
    })
    const verified = await get(b, `/verify_data/${dataHash}`)
    expect(verified.body['verified']).toBe(true)
    // B's listing learns the same from A, not only its bundle.
    const onB = await until('the share confirmed on B', audit(b))
    expect(onB).toMatchObject({ direction: 'in', status: { delivery: 'received', audit: 'confirmed' } })
    // And its history holds both leaves, with the parties, as the sender's does.
    for (const node of [a, b]) {
      const items = (await get(node, `/v1/audit?data_hash=${dataHash}`)).body['history'] as Array<
        Record<string, unknown>
      >
      expect([node.name, items.map((i) => [i['event_type'], i['sender'], i['recipient']])]).toEqual([
        node.name,
        [
          ['batch_leaf', a.peerId, b.peerId],
          ['batch_leaf', a.peerId, b.peerId]
        ]
      ])
    }
  })

  it("is refused by name to a peer that is not the share's recipient", async () => {
    const shared = await json(`${a.externalUrl}/share_data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keys.get(a) as string },
      body: JSON.stringify({ data: `only for B ${Date.now()}`, recipient: b.peerId })
    })
    const shareId = shared.body['share_id'] as string
    await until('the share delivered', async () =>
      a.node.p2p.getShare(shareId).state === 'delivered' ? true : undefined
    )
    const refusal = (asker: ClusterNode, id: string) =>
      asker.node.p2p.askEvidence(a.peerId, id).then(
        () => 'answered',
        (err: unknown) => (err instanceof RemoteRefusalError ? err.refusal : String(err))
      )
    // C learns nothing of B's share, and nobody of a share id A never sent: the same refusal.
    expect(await refusal(c, shareId)).toBe('NotShareRecipientError')
    expect(await refusal(b, 'f'.repeat(32))).toBe('NotShareRecipientError')
    const entry = await until("A's entry for B", async () => {
      const e = await b.node.p2p.askEvidence(a.peerId, shareId).catch(() => undefined)
      return (e as { receiptAnchor?: unknown } | undefined)?.receiptAnchor ? e : undefined
    })
    expect(entry).toMatchObject({ share: { shareId, sender: a.peerId, recipient: b.peerId } })
  })
})
