import { existsSync } from 'node:fs'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkBundle } from '../../node/audit/bundle-check.ts'
import { RpcClient } from '../../node/audit/rpc-client.ts'
import { spawnCli } from '../helpers/cli.ts'
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

/** Runs the CLI without blocking: the nodes it talks to run in this process. */
async function cli(args: string[], env: Record<string, string>) {
  const child = spawnCli(args, env)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  // 'close' comes after the output streams ended, so nothing printed is missed.
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)))
  return { code, stdout, stderr }
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

describe('share end to end', { timeout: 120_000 }, () => {
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

    // B lists the share as received, and sees its audit confirmed from its own index of the chain.
    const received = await until('the audit seen from B', async () => {
      const r = await json(`${b.externalUrl}/v1/shares?state=received`, { headers: { 'x-api-key': keyB } })
      const share = (r.body['shares'] as { id: string; status: { audit: string }; tx_hash: string }[]).find(
        (s) => s.id === shareId
      )
      return share?.status.audit === 'confirmed' ? share : undefined
    })
    expect(received.tx_hash).toMatch(/^0x[0-9a-f]{64}$/)

    // B's own API sees the verification too: the chain is shared, not a local flag of A.
    const onChainForB = await json(`${b.externalUrl}/verify_data/${dataHash}`, {
      headers: { 'x-api-key': keyB }
    })
    expect(onChainForB.body['verified']).toBe(true)
    expect(onChainForB.body['shares']).toEqual([
      expect.objectContaining({ share_id: shareId, verified: true, reason: null })
    ])

    // Both parties export the evidence, and it checks out against the chain alone.
    for (const [node, key] of [
      [a, keyA],
      [b, keyB]
    ] as const) {
      const bundle = await json(`${node.externalUrl}/v1/audit/${dataHash}/bundle`, {
        headers: { 'x-api-key': key }
      })
      expect(bundle.status).toBe(200)
      const check = await checkBundle(bundle.body, { rpc: cluster.chainUrl })
      expect(check).toMatchObject({ verified: true, dataHash })
      expect(check.shares.map((s) => s.shareId)).toEqual([shareId])
    }

    // `dmn audit export` asks the running node's internal API; another process checks the file.
    const port = new URL(b.internalUrl).port
    const exported = await cli(['audit', 'export', dataHash], { DMN_API_INTERNAL_PORT: port })
    expect(exported.stderr).toBe('')
    expect(exported.code).toBe(0)
    expect(await checkBundle(exported.stdout, { rpc: cluster.chainUrl })).toMatchObject({ verified: true })
    const none = await cli(['audit', 'export', '0'.repeat(64)], { DMN_API_INTERNAL_PORT: port })
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/party to no share/)
  })
})

/** Reads Server-Sent Events from `url` until `done(events)` holds. */
async function collectEvents(
  url: string,
  ready: () => Promise<void>,
  done: (events: readonly { type: string; data: Record<string, unknown> }[]) => boolean,
  timeoutMs = 30_000
): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  const res = await fetch(url, { signal: controller.signal })
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  const events: { type: string; data: Record<string, unknown> }[] = []
  let buffer = ''
  let started = false
  try {
    while (!done(events)) {
      const { value, done: ended } = await reader.read()
      if (ended) break
      buffer += decoder.decode(value, { stream: true })
      const blocks = buffer.split('\n\n')
      buffer = blocks.pop() ?? ''
      for (const block of blocks) {
        const type = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (type === 'ready' && !started) {
          started = true
          await ready()
        } else if (type && data) events.push({ type, data: JSON.parse(data) as Record<string, unknown> })
      }
    }
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return events
}

describe('share requests the node refuses or resolves', () => {
  it('names B by its Ethereum address, refuses sharing with itself, and answers 503 for maximum without TPM', async () => {
    const [a, b] = cluster.nodes as [
      NonNullable<(typeof cluster.nodes)[0]>,
      NonNullable<(typeof cluster.nodes)[0]>
    ]
    const post = (body: unknown) =>
      json(`${a.externalUrl}/share_data`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keyA },
        body: JSON.stringify(body)
      })
    const byAddress = await post({ data: 'to an address', recipient: b.ethAddress })
    expect(byAddress.status).toBe(201)
    expect(byAddress.body['recipient']).toBe(b.ethAddress)
    const share = a.node.p2p.getShare(byAddress.body['share_id'] as string)
    expect(share.recipient).toBe(b.peerId)

    const self = await post({ data: 'to myself', recipient: a.peerId })
    expect(self.status).toBe(422)
    expect(self.body).toMatchObject({ code: 'request_refused', field: 'recipient' })

    // An address nobody registered is accepted and waits for its node; a malformed one is refused.
    const nobody = await post({ data: 'to nobody', recipient: '0x000000000000000000000000000000000000dEaD' })
    expect(nobody.status).toBe(201)
    expect(nobody.body).toMatchObject({
      recipient: '0x000000000000000000000000000000000000dEaD',
      tx_hash: null,
      tx_hash_pending_reason: 'recipient_unresolved',
      status: { delivery: 'unresolved' }
    })
    const unknown = await post({ data: 'to nobody', recipient: '0x000000000000000000000000000000000000dEa' })
    expect(unknown.status).toBe(422)
    expect(unknown.body).toMatchObject({ field: 'recipient' })

    const maximum = await post({ data: 'top secret', recipient: b.peerId, security_tier: 'maximum' })
    expect(maximum.status).toBe(503)
    expect(maximum.body).toMatchObject({ code: 'unavailable', dependency: 'attestation' })
  })
})

describe('operator API on a running node', () => {
  it('streams share, delivery and audit events live while a share goes through', async () => {
    const [a, b] = cluster.nodes as [
      NonNullable<(typeof cluster.nodes)[0]>,
      NonNullable<(typeof cluster.nodes)[0]>
    ]
    let shareId = ''
    const ofShare = (e: { data: Record<string, unknown> }) =>
      (e.data['data'] as Record<string, unknown> | undefined)?.['share_id'] === shareId
    const events = await collectEvents(
      `${a.internalUrl}/events?types=share.,audit.`,
      async () => {
        const r = await json(`${a.externalUrl}/v1/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': keyA },
          body: JSON.stringify({ data: 'watched live', recipient: b.peerId })
        })
        shareId = (r.body['share'] as { id: string }).id
      },
      // This share's own delivery: an earlier test's share may be delivered while this one waits.
      (seen) =>
        seen.some((e) => e.type === 'share.delivered' && ofShare(e)) &&
        seen.some((e) => e.type === 'audit.confirmed')
    )
    const mine = events.filter(ofShare)
    expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['share.accepted', 'share.delivered']))
    expect(events.some((e) => e.type === 'audit.confirmed')).toBe(true)
  })

  it('reports health of every component, metrics, outbox, key ring and peers', async () => {
    const [a, b] = cluster.nodes as [
      NonNullable<(typeof cluster.nodes)[0]>,
      NonNullable<(typeof cluster.nodes)[0]>
    ]
    const health = await json(`${a.internalUrl}/health`)
    expect(health.status).toBe(200)
    expect(Object.keys(health.body['components'] as object).sort()).toEqual([
      'chain',
      'database',
      'keyring',
      'outbox',
      'p2p'
    ])
    expect(health.body['components']).toMatchObject({ database: { status: 'up' }, chain: { status: 'up' } })

    const metrics = await (await fetch(`${a.internalUrl}/metrics`)).text()
    expect(metrics).toMatch(/dmn_shares\{state="delivered"\} [1-9]/)
    expect(metrics).toMatch(/dmn_peers\{kind="total"\} [1-9]/)
    expect(metrics).toContain('dmn_publisher_lag_seconds')
    // Wired from the running p2p component (its series appear with the first refusal).
    expect(metrics).toContain('# TYPE dmn_p2p_refusals_total counter')
    expect(metrics).toContain('# TYPE dmn_p2p_refusals_received_total counter')

    const outbox = await json(`${a.internalUrl}/outbox?state=confirmed`)
    const entries = outbox.body['entries'] as { id: number; kind: string; tx_hash: string }[]
    expect(entries.map((e) => e.kind)).toEqual(expect.arrayContaining(['share', 'receipt']))
    expect((await json(`${a.internalUrl}/outbox/${entries[0]!.id}/retry`, { method: 'POST' })).status).toBe(
      409
    )
    expect((await json(`${a.internalUrl}/outbox/999999/retry`, { method: 'POST' })).status).toBe(404)

    const history = await json(`${a.externalUrl}/compliance_history?filters=data_share`, {
      headers: { 'x-api-key': keyA }
    })
    expect(history.body['count']).toBeGreaterThan(0)
    expect(
      (history.body['history'] as { event_type: string }[]).every((e) => e.event_type === 'data_share')
    ).toBe(true)

    const ring = await json(`${a.internalUrl}/keyring`)
    const before = ring.body['primary_version'] as number
    const rotated = await json(`${a.internalUrl}/keyring/rotate`, { method: 'POST' })
    expect(rotated.body).toEqual({ primary_version: before + 1 })
    const rewrapped = await json(`${a.internalUrl}/keyring/rewrap`, { method: 'POST' })
    expect(rewrapped.body['primary_version']).toBe(before + 1)

    const peers = await json(`${a.internalUrl}/peers`)
    expect((peers.body['peers'] as { peer_id: string }[]).map((p) => p.peer_id)).toContain(b.peerId)
    const denied = await json(`${a.internalUrl}/peers/${b.peerId}/deny`, { method: 'POST' })
    expect(denied.body['status']).toBe('denied')
    const refused = await json(`${a.externalUrl}/share_data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keyA },
      body: JSON.stringify({ data: 'to a denied peer', recipient: b.peerId })
    })
    expect(refused.status).toBe(422)
    expect(refused.body['field']).toBe('recipient')
    const allowed = await json(`${a.internalUrl}/peers/${b.peerId}/allow`, { method: 'POST' })
    expect(allowed.body).toMatchObject({ status: 'active', trust: 'allowlisted' })

    // Every authenticated request above went to the hash-chained security log.
    const kinds = a.node.audit.securityLog.list({ limit: 1000 }).map((r) => r.kind)
    expect(kinds).toEqual(expect.arrayContaining(['auth.success', 'key.rotated', 'api_key.created']))
    expect(a.node.audit.securityLog.verifyChain().ok).toBe(true)
  })
})
