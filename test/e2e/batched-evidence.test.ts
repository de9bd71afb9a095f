import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkBundle } from '../../node/audit/bundle-check.ts'
import { parseBundle, serializeBundle } from '../../node/audit/bundle-format.ts'
import { RpcClient } from '../../node/audit/rpc-client.ts'
import {
  type ClusterNode,
  introduce,
  type LocalCluster,
  startLocalCluster
} from '../../node/cli/commands/demo-cluster.ts'
import { runCli } from '../helpers/cli.ts'

/**
 * Shares delivered in one batch keep their own evidence (README "Batched delivery"): on two whole
 * nodes with batching on, over real sockets and a local chain, each share's bundle holds its own
 * receipt under the batch's signed receipt root, and checks alone with `dmn audit check`, in a
 * process with no data directory, against the chain.
 */

const COUNT = 6
let cluster: LocalCluster
let a: ClusterNode
let b: ClusterNode
let scratch: string
const keys = new Map<ClusterNode, string>()

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'dmn-batched-evidence-'))
  cluster = await startLocalCluster({
    names: ['a', 'b'],
    logger: pino({ level: 'silent' }),
    p2pBatch: { max: 16, windowMs: 300 }
  })
  ;[a, b] = cluster.nodes as [ClusterNode, ClusterNode]
  await introduce(a, b)
  for (const node of [a, b]) {
    const r = await json(`${node.internalUrl}/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'batched-evidence', scopes: ['share', 'read'] })
    })
    keys.set(node, r.body['key'] as string)
  }
})

afterAll(async () => {
  await cluster?.stop()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

const bundleOf = async (node: ClusterNode, dataHash: string) => {
  const r = await json(`${node.externalUrl}/v1/audit/${dataHash}/bundle`, {
    headers: { 'x-api-key': keys.get(node) as string }
  })
  expect(r.status).toBe(200)
  return parseBundle(r.body)
}

function checkCli(text: string) {
  const file = join(scratch, `bundle-${randomBytes(4).toString('hex')}.json`)
  writeFileSync(file, text)
  const nowhere = join('/nonexistent', `dmn-${randomBytes(4).toString('hex')}`)
  return runCli(['audit', 'check', file, '--rpc', cluster.chainUrl, '--json'], {
    DMN_DATA_DIR: nowhere,
    DATA_DIR: nowhere
  })
}

describe('evidence of batched shares', { timeout: 180_000 }, () => {
  it('gives each share of a batch a bundle that checks alone, and refuses one whose inclusion proof was changed', async () => {
    const shared = await Promise.all(
      Array.from({ length: COUNT }, (_, i) =>
        json(`${a.externalUrl}/share_data`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': keys.get(a) as string },
          body: JSON.stringify({ data: `batched ${i} ${Date.now()}`, recipient: b.peerId })
        })
      )
    )
    expect(shared.map((s) => s.status)).toEqual(Array(COUNT).fill(201))
    const shares = shared.map((s) => ({
      shareId: s.body['share_id'] as string,
      dataHash: s.body['data_hash'] as string
    }))
    for (const { shareId } of shares) {
      // Delivered (its receipt back) and confirmed: in per-share audit mode the share's own event
      // can be confirmed before the delivery, and its receipt's event after it.
      await until(`share ${shareId} delivered and confirmed on A`, async () => {
        const r = await json(`${a.externalUrl}/v1/shares/${shareId}`, {
          headers: { 'x-api-key': keys.get(a) as string }
        })
        const share = r.body['share'] as { status: { delivery: string; audit: string } } | undefined
        return share?.status.delivery === 'delivered' && share.status.audit === 'confirmed' ? true : undefined
      })
    }
    // They travelled together: their receipts sit under fewer signed roots than there are shares.
    const receipts = shares.map(({ shareId }) => a.node.p2p.getShare(shareId).receipt)
    expect(receipts.every((r) => r?.batch !== undefined)).toBe(true)
    expect(new Set(receipts.map((r) => r?.batch?.root.root)).size).toBeLessThan(COUNT)

    const rpc = new RpcClient({ url: cluster.chainUrl, timeoutMs: 10_000 })
    for (const { shareId, dataHash } of shares) {
      const bundle = await bundleOf(a, dataHash)
      expect(bundle.shares.map((s) => s.share.shareId)).toEqual([shareId])
      expect(bundle.shares[0]?.receipt?.batch?.root.treeSize).toBeGreaterThan(1)
      const result = checkCli(`${serializeBundle(bundle)}\n`)
      expect(result.stderr).toBe('')
      expect(result.status).toBe(0)
      // The CLI's JSON is snake_case, as the API's.
      expect(JSON.parse(result.stdout)).toMatchObject({
        verified: true,
        data_hash: dataHash,
        shares: [{ share_id: shareId, verified: true }]
      })
      // The recipient's own bundle of the same share checks too.
      expect(await checkBundle(await bundleOf(b, dataHash), { rpc })).toMatchObject({ verified: true })
    }

    // One step of one inclusion proof changed: that receipt no longer reaches the signed root.
    const bundle = JSON.parse(serializeBundle(await bundleOf(a, shares[0]?.dataHash as string)))
    const proof = bundle.shares[0].receipt.batch.proof as string[]
    proof[0] = `${(proof[0] as string).slice(0, -1)}${(proof[0] as string).endsWith('0') ? '1' : '0'}`
    const tampered = checkCli(`${serializeBundle(parseBundle(bundle))}\n`)
    expect(tampered.status).not.toBe(0)
    expect(JSON.parse(tampered.stdout)).toMatchObject({
      verified: false,
      shares: [{ verified: false, reason: 'bad_receipt_signature' }]
    })
  })
})
