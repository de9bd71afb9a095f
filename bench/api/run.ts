/**
 * The HTTP API under load, next to its baselines, in one run:
 *
 *   node bench/api/run.ts [--duration 5] [--connections 10]
 *
 * 1. GET /health on the node's external API (every middleware: secure headers, client address, key
 *    lookup, rate limit with the limit lifted, metrics; the health probes read SQLite, the key ring,
 *    p2p and the publisher) next to a bare Hono hello-world on the same server stack
 *    (@hono/node-server, same process).
 * 2. POST /share_data with 1 KiB of data at the standard tier (API key check and security-log entry,
 *    validation, record encrypted at rest, share and audit outbox rows committed with
 *    synchronous=FULL), next to the raw RSA-PSS sign rate of this machine with the node's 3072-bit
 *    signing key: every share is signed once when it is sealed for delivery.
 *
 * The load comes from autocannon in a separate process so it does not share the servers' event loop.
 * Two real nodes run on a local Hardhat chain (as in `dmn demo`); deliveries and audit transactions
 * run in the background during the share test, as they would in production. Last line: one JSON
 * object with the figures.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { parseArgs, promisify } from 'node:util'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { pino } from 'pino'
import { introduce, startLocalCluster } from '../../node/cli/commands/demo-cluster.ts'
import { generateRsaKeyPair, signPss } from '../../node/crypto/index.ts'

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '10' } }
})
const DURATION = Number(values.duration)
const CONNECTIONS = Number(values.connections)
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js')
const run = promisify(execFile)

interface Load {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  readonly non2xx: number
  readonly errors: number
}

async function load(url: string, extra: string[] = []): Promise<Load> {
  const args = [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(DURATION), '-j', ...extra, url]
  const { stdout } = await run(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 })
  const r = JSON.parse(stdout) as {
    requests: { average: number; total: number }
    latency: { p50: number; p99: number }
    non2xx: number
    errors: number
  }
  return {
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors
  }
}

function bareHono(): Promise<{ server: Server; url: string }> {
  const app = new Hono()
  app.get('/health', (c) => c.json({ status: 'healthy' }))
  const server = createAdaptorServer({ fetch: app.fetch }) as Server
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
    })
  })
}

async function signRate(): Promise<{ perSecond: number; keyBits: number }> {
  const keyBits = 3072
  const { privateKeyPem } = await generateRsaKeyPair(keyBits)
  const data = randomBytes(1024)
  signPss(privateKeyPem, data) // parse and cache the key outside the timed loop
  let n = 0
  const start = performance.now()
  while (performance.now() - start < DURATION * 1000) {
    signPss(privateKeyPem, data)
    n++
  }
  return { perSecond: Math.round(n / ((performance.now() - start) / 1000)), keyBits }
}

const fmt = (l: Load) =>
  `${String(l.rps).padStart(7)} req/s  p50 ${String(l.p50Ms).padStart(4)} ms  p99 ${String(l.p99Ms).padStart(4)} ms  (${l.requests} requests, ${l.non2xx} non-2xx, ${l.errors} errors)`

const cluster = await startLocalCluster({
  names: ['A', 'B'],
  logger: pino({ level: 'silent' }),
  // Lifted so the limiter is exercised but the figure is the stack's, not the configured limit.
  rateLimit: { perSecond: 1e9, burst: 1e9 }
})
const bare = await bareHono()
try {
  const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0] & object, (typeof cluster.nodes)[0] & object]
  await introduce(a, b)
  const key = a.node.api.apiKeys.create({ name: 'bench', scopes: ['share', 'read'] }).key

  console.log(`API benchmark: autocannon, ${CONNECTIONS} connections, ${DURATION} s per run, 127.0.0.1`)
  // First, while the nodes are idle: the share run leaves deliveries and audit transactions behind.
  const sign = await signRate()
  const honoHealth = await load(`${bare.url}/health`)
  console.log(`GET /health   bare Hono hello-world  ${fmt(honoHealth)}`)
  const ourHealth = await load(`${a.externalUrl}/health`)
  console.log(`GET /health   node external API      ${fmt(ourHealth)}`)

  const body = JSON.stringify({ data: randomBytes(512).toString('hex'), recipient: b.peerId })
  const shares = await load(`${a.externalUrl}/share_data`, [
    '-m',
    'POST',
    '-H',
    'content-type=application/json',
    '-H',
    `x-api-key=${key}`,
    '-b',
    body
  ])
  console.log(`POST /share_data 1 KiB standard      ${fmt(shares)}`)
  console.log(
    `RSA-PSS sign (${sign.keyBits}-bit, 1 KiB), one core   ${String(sign.perSecond).padStart(7)} signatures/s`
  )
  console.log(
    JSON.stringify({
      bench: 'api',
      durationSeconds: DURATION,
      connections: CONNECTIONS,
      health: { bareHono: honoHealth, node: ourHealth },
      shareData: { sharesPerSecond: shares.rps, ...shares },
      rsaPssSign: { perSecond: sign.perSecond, keyBits: sign.keyBits }
    })
  )
} finally {
  bare.server.close()
  await cluster.stop()
}
