import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lintExposition } from '../../api/test-support/metrics-lint.ts'
import { readBuildInfo } from '../../node/build-info.ts'
import { introduce, type LocalCluster, startLocalCluster } from '../../node/cli/commands/demo-cluster.ts'
import { createLogger } from '../../node/log/logger.ts'

/**
 * What an operator watches, on two real nodes (libp2p on loopback, SQLite files, an embedded chain):
 * after one share through A's API, A's and B's /metrics show the delivery, the shares, the bytes,
 * the chain's transaction and the build, cleanly formatted; and the JSON log lines follow the share
 * from A's access line to its audit under the request id A echoed to the client.
 */

type Line = Record<string, unknown>
const lines: Line[] = []
const destination = new Writable({
  write(chunk, _enc, done) {
    for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line)
    done()
  }
})

let cluster: LocalCluster
let key: string
const REQUEST_ID = 'obs-e2e-share-1'

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const find = (match: Line) => lines.find((line) => Object.entries(match).every(([k, v]) => line[k] === v))

/** The value of the one sample `series` (name and labels as printed) in an exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

beforeAll(async () => {
  cluster = await startLocalCluster({
    names: ['a', 'b'],
    logger: createLogger({ destination, level: 'info' })
  })
  const [a, b] = cluster.nodes
  await introduce(a!, b!)
  const res = await fetch(`${a!.internalUrl}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'obs', scopes: ['share', 'read'] })
  })
  key = ((await res.json()) as { key: string }).key
})

afterAll(async () => {
  const root = cluster?.rootDir
  await cluster?.stop()
  if (root) expect(existsSync(root)).toBe(false)
})

describe('operator observability on two nodes', { timeout: 120_000 }, () => {
  let shareId: string

  it('echoes the request id, and logs the share under it from the access line to its audit', async () => {
    const [a, b] = cluster.nodes as [
      NonNullable<(typeof cluster.nodes)[0]>,
      NonNullable<(typeof cluster.nodes)[0]>
    ]
    const res = await fetch(`${a.externalUrl}/share_data?note=not-logged`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'X-Request-Id': REQUEST_ID },
      body: JSON.stringify({ data: `observed ${Date.now()}`, recipient: b.peerId })
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-request-id')).toBe(REQUEST_ID)
    shareId = ((await res.json()) as { share_id: string }).share_id

    expect(
      find({ msg: 'http request', requestId: REQUEST_ID, method: 'POST', path: '/share_data', status: 201 })
    ).toMatchObject({ api: 'external', durationMs: expect.any(Number), level: 'info' })
    expect(find({ msg: 'share accepted', shareId })).toMatchObject({
      requestId: REQUEST_ID,
      recipient: b.peerId
    })
    const sent = await until('the sent line', () =>
      find({ msg: 'share sent: recipient receipt verified', shareId })
    )
    expect(sent).toMatchObject({ requestId: REQUEST_ID, level: 'info' })
    expect(await until('the received line', () => find({ msg: 'share received', shareId }))).toMatchObject({
      sender: a.peerId,
      level: 'info'
    })
    const audited = await until('the receipt audit line', () =>
      find({ msg: 'share audited', shareId, event: 'receipt' })
    )
    expect(audited).toMatchObject({
      requestId: REQUEST_ID,
      txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/)
    })
    expect(find({ msg: 'peer connected', peerId: b.peerId })).toMatchObject({ level: 'info' })
    expect(JSON.stringify(lines)).not.toContain('not-logged')
  })

  it('gives a request without an id a fresh one, in the header and the access line', async () => {
    const [a] = cluster.nodes
    const res = await fetch(`${a!.externalUrl}/v1/shares/${shareId}`, { headers: { 'x-api-key': key } })
    expect(res.status).toBe(200)
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(find({ msg: 'http request', requestId: id as string })).toMatchObject({
      status: 200,
      method: 'GET'
    })
  })

  it('shows the delivery, the shares, the bytes, the chain and the build in /metrics, lint-clean', async () => {
    const [a, b] = cluster.nodes as [
      NonNullable<(typeof cluster.nodes)[0]>,
      NonNullable<(typeof cluster.nodes)[0]>
    ]
    const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text()
    // The receipt's transaction is confirmed by now (its audit line was seen above).
    const onA = await until('the confirmed transaction in A metrics', async () => {
      const text = await scrape(a.internalUrl)
      return (sample(text, 'dmn_chain_transaction_seconds_count') ?? 0) >= 1 ? text : undefined
    })
    expect(lintExposition(onA)).toEqual([])
    expect(sample(onA, 'dmn_share_delivery_seconds_count{tier="standard"}')).toBe(1)
    expect(sample(onA, 'dmn_shares_accepted_total{direction="out",tier="standard"}')).toBe(1)
    expect(sample(onA, 'dmn_share_delivery_attempts_total{outcome="delivered"}')).toBe(1)
    expect(sample(onA, 'dmn_p2p_sent_bytes_total')).toBeGreaterThan(0)
    expect(sample(onA, 'dmn_p2p_received_bytes_total')).toBeGreaterThan(0)
    expect(sample(onA, 'dmn_chain_transactions_total{outcome="confirmed"}')).toBeGreaterThanOrEqual(1)
    expect(sample(onA, 'dmn_chain_gas_used_total')).toBeGreaterThan(21_000)
    expect(sample(onA, 'dmn_chain_rpc_up')).toBe(1)
    // The share's record and its receipt's anchor were broadcast, and their receipts asked for.
    expect(
      sample(onA, 'dmn_chain_rpc_requests_total{method="eth_sendRawTransaction"}')
    ).toBeGreaterThanOrEqual(2)
    expect(
      sample(onA, 'dmn_chain_rpc_requests_total{method="eth_getTransactionReceipt"}')
    ).toBeGreaterThanOrEqual(2)
    const build = readBuildInfo()
    expect(
      sample(
        onA,
        `dmn_build_info{version="${build.version}",node_version="${process.version}",commit="${build.commit}"}`
      )
    ).toBe(1)
    expect(onA).toContain('# TYPE process_resident_memory_bytes gauge')
    expect(onA).toContain('# TYPE nodejs_heap_size_used_bytes gauge')

    const onB = await scrape(b.internalUrl)
    expect(lintExposition(onB)).toEqual([])
    expect(sample(onB, 'dmn_shares_accepted_total{direction="in",tier="standard"}')).toBe(1)
    expect(sample(onB, 'dmn_p2p_received_bytes_total')).toBeGreaterThan(0)
  })

  // promtool comes with Debian's `prometheus` package, which scripts/install-system-deps.sh installs.
  it('passes promtool check metrics', async () => {
    expect(spawnSync('promtool', ['--version']).status, 'promtool (scripts/install-system-deps.sh)').toBe(0)
    for (const node of cluster.nodes) {
      const text = await (await fetch(`${node.internalUrl}/metrics`)).text()
      const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
      expect(`${run.stdout}${run.stderr}`.trim()).toBe('')
      expect(run.status).toBe(0)
    }
  })

  it('logs a peer the operator denied as disconnected', async () => {
    const [a, b] = cluster.nodes as [
      NonNullable<(typeof cluster.nodes)[0]>,
      NonNullable<(typeof cluster.nodes)[0]>
    ]
    const res = await fetch(`${a.internalUrl}/peers/${b.peerId}/deny`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(
      await until('the disconnected line', () => find({ msg: 'peer disconnected', peerId: b.peerId }))
    ).toMatchObject({ level: 'info', component: 'activity' })
  })
})
