/**
 * Soak: batched delivery at a steady rate for a while, then the books are balanced.
 *
 *   node bench/p2p/soak.ts [--minutes N] [--rate SHARES_PER_SECOND] [--size BYTES] [--batch-max N]
 *
 * The nodes of bench/p2p/share-throughput.ts (a sender here with `p2p.batchMax` = `--batch-max`,
 * the receiver in a child process; SQLite files with synchronous=FULL, default RSA key sizes) on
 * 127.0.0.1. The sender queues `--rate` standard shares a second for `--minutes`, then waits for
 * every one to be delivered. Reported: the resident set size of both processes, sampled every 10
 * seconds (its change from the first sample after the first tenth of the run, to the last), shares
 * lost (queued and never delivered, or delivered and missing at the recipient), shares duplicated
 * (delivered twice, or stored twice at the recipient), and the latency from queueing to the verified
 * receipt (p50, p99, max). Last line: one JSON object.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { P2pEvents } from '../../node/p2p/index.ts'
import { spawnReceiver, startNode } from './share-throughput.ts'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '500' },
    size: { type: 'string', default: '1024' },
    'batch-max': { type: 'string', default: '64' }
  }
})
const MINUTES = Number(values.minutes)
const RATE = Number(values.rate)
const SIZE = Number(values.size)
const TICK_MS = 50
const SAMPLE_MS = 10_000
const DRAIN_MS = 120_000

const quantile = (sorted: Float64Array, q: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number)
const mib = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1))

const dir = mkdtempSync(join(tmpdir(), 'dmn-bench-soak-'))
try {
  const [a, b] = await Promise.all([
    startNode(join(dir, 'a'), { batchMax: Number(values['batch-max']), batchWindowMs: 10 }),
    spawnReceiver(join(dir, 'b'))
  ])
  await b.ask({ allow: a.p2p.peerId })
  a.p2p.allowPeer(b.peerId)
  await a.p2p.connect(b.address)

  // Only the shares in flight are remembered, and latencies go into a buffer sized for the whole
  // run up front: the harness's own bookkeeping must not grow with the run, or the sender's RSS
  // would show it (a map and a set of every share id grew it by about 150 MiB in 30 minutes).
  const inFlight = new Map<string, number>()
  const latencies = new Float64Array(Math.ceil(MINUTES * 60 * RATE) + RATE)
  let delivered = 0
  let duplicated = 0
  const failedAttempts: Record<string, number> = {}
  a.p2p.on('share:delivered', ({ share }: P2pEvents['share:delivered'][0]) => {
    const at = inFlight.get(share.shareId)
    // Every share delivered here was queued by this run, and remembered as soon as it was
    // committed (long before its delivery): one not in flight any more was delivered before.
    if (at === undefined) {
      duplicated++
      return
    }
    inFlight.delete(share.shareId)
    if (delivered < latencies.length) latencies[delivered] = performance.now() - at
    delivered++
  })
  // Attempts that failed and were retried, by the error's name (a backlog shows as timeouts here).
  a.p2p.on('share:attempt-failed', ({ error }: P2pEvents['share:attempt-failed'][0]) => {
    failedAttempts[error] = (failedAttempts[error] ?? 0) + 1
  })

  const samples: { t: number; sender: number; receiver: number }[] = []
  const sample = async (t: number) => {
    const { rss } = (await b.ask({ rss: true })) as { rss: number }
    samples.push({ t, sender: process.memoryUsage().rss, receiver: rss })
  }
  const payload = new Uint8Array(randomBytes(SIZE))
  const start = performance.now()
  const endAt = start + MINUTES * 60_000
  let queued = 0
  let nextSample = start
  console.log('minute  queued  delivered  sender RSS MiB  receiver RSS MiB')
  while (performance.now() < endAt) {
    const now = performance.now()
    // Catch up to the rate: the shares due by now, each with different bytes (a fresh data hash).
    const due = Math.floor(((now - start) / 1000) * RATE)
    for (; queued < due; queued++) {
      const data = new Uint8Array(payload)
      new DataView(data.buffer).setUint32(0, queued)
      // Queued as the API queues them: the acceptances of one turn share a commit (queueShare).
      void a.p2p
        .queueShare({ data, recipient: b.peerId, tier: 'standard' })
        .then((share) => inFlight.set(share.shareId, now))
    }
    if (now >= nextSample) {
      await sample(now - start)
      const last = samples.at(-1) as (typeof samples)[number]
      console.log(
        `${((now - start) / 60_000).toFixed(1).padStart(6)}${String(queued).padStart(8)}${String(delivered).padStart(11)}` +
          `${mib(last.sender).toFixed(1).padStart(16)}${mib(last.receiver).toFixed(1).padStart(18)}`
      )
      nextSample += SAMPLE_MS
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS))
  }
  const drainBy = performance.now() + DRAIN_MS
  while (delivered < queued && performance.now() < drainBy) await new Promise((r) => setTimeout(r, 100))
  await sample(performance.now() - start)
  const { rows, ids } = (await b.ask({ inbound: true })) as { rows: number; ids: number }

  // A typed array sorts by value.
  const sorted = latencies.slice(0, Math.min(delivered, latencies.length)).sort()
  const settled = samples.filter((s) => s.t >= (MINUTES * 60_000) / 10)
  const first = settled[0] ?? samples[0]
  const last = samples.at(-1)
  const growth = (key: 'sender' | 'receiver') =>
    first && last ? Number((((last[key] - first[key]) / first[key]) * 100).toFixed(1)) : 0
  // One sample can fall on a collection's dip (the receiver's RSS went 244 -> 292 MiB within ten
  // seconds of a 30-minute run's 3-minute mark): the medians of the second and the last tenth of
  // the run say whether it keeps growing.
  const tenth = (MINUTES * 60_000) / 10
  const medianOf = (key: 'sender' | 'receiver', from: number, to: number) => {
    const xs = samples
      .filter((s) => s.t >= from && s.t < to)
      .map((s) => s[key])
      .sort((x, y) => x - y)
    return xs[xs.length >> 1] ?? 0
  }
  const medianGrowth = (key: 'sender' | 'receiver') => {
    const early = medianOf(key, tenth, 2 * tenth)
    const late = medianOf(key, 9 * tenth, Number.POSITIVE_INFINITY)
    return early > 0 ? Number((((late - early) / early) * 100).toFixed(1)) : 0
  }
  const rss = (key: 'sender' | 'receiver') => ({
    firstMiB: mib(first?.[key] ?? 0),
    lastMiB: mib(last?.[key] ?? 0),
    maxMiB: mib(Math.max(...samples.map((s) => s[key]))),
    growthPercent: growth(key),
    secondTenthMedianMiB: mib(medianOf(key, tenth, 2 * tenth)),
    lastTenthMedianMiB: mib(medianOf(key, 9 * tenth, Number.POSITIVE_INFINITY)),
    medianGrowthPercent: medianGrowth(key)
  })
  const result = {
    bench: 'p2p-soak',
    node: process.version,
    mode: 'batched',
    batchMax: Number(values['batch-max']),
    minutes: MINUTES,
    ratePerSecond: RATE,
    sizeBytes: SIZE,
    queued,
    delivered,
    lost: queued - delivered + Math.max(0, delivered - ids),
    duplicated: duplicated + (rows - ids),
    failedAttempts,
    latencyMs: {
      p50: Number(quantile(sorted, 0.5).toFixed(1)),
      p99: Number(quantile(sorted, 0.99).toFixed(1)),
      max: Number((sorted.at(-1) ?? 0).toFixed(1))
    },
    rss: { sender: rss('sender'), receiver: rss('receiver') }
  }
  console.log(
    `queued ${queued}, delivered ${delivered}, received ${ids} (${rows} rows), lost ${result.lost}, duplicated ${result.duplicated}; ` +
      `latency p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms; RSS growth sender ${growth('sender')} %, receiver ${growth('receiver')} % ` +
      `(medians of the second and last tenth: sender ${medianGrowth('sender')} %, receiver ${medianGrowth('receiver')} %); ` +
      `failed attempts ${JSON.stringify(failedAttempts)}`
  )
  await a.stop()
  await b.ask({ stop: true })
  console.log(JSON.stringify(result))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
