/**
 * The HTTP API under load, next to its baselines, in one run:
 *
 *   node bench/api/run.ts [--duration 5] [--connections 10]
 *
 * 1. GET /health on the node's external API (metrics, secure headers, client address, the address's
 *    rate bucket with the limit lifted; no key lookup; the health probes read SQLite, the key ring,
 *    p2p and the publisher) next to a bare Hono hello-world on the same server stack
 *    (@hono/node-server, same process).
 * 2. POST /share_data with 1 KiB of data at the standard tier (API key check, its success summarised
 *    in the security log once per second, validation, record encrypted at rest, share and audit outbox rows committed with
 *    synchronous=FULL), next to the raw RSA-PSS sign rate of this machine with the node's 3072-bit
 *    signing key: every share is signed once when it is sealed for delivery. Beside what the API
 *    accepted: what the sender delivered with verified receipts in the same window
 *    (`deliveredPerSecond`), the backlog left, and the envelopes the recipient refused for rate
 *    (`wastedSignatures`); the run then waits for the backlog to drain.
 *
 * The load comes from autocannon in a separate process so it does not share the servers' event loop.
 * Two real nodes run on a local Hardhat chain: the sender in this process (as in `dmn demo`), the
 * recipient as its own `dmn start` process; deliveries and audit transactions run in the background
 * during the share test, as they would in production. Last line: one JSON
 * object with the figures.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { parseArgs, promisify } from 'node:util'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { Wallet } from 'ethers'
import { pino } from 'pino'
import { RpcClient, toHex } from '../../node/audit/rpc-client.ts'
import { DEMO_PASSWORD, startLocalCluster } from '../../node/cli/commands/demo-cluster.ts'
import { generateRsaKeyPair, signPss } from '../../node/crypto/index.ts'
import { SHARE_PROTOCOL } from '../../node/p2p/index.ts'

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

const CLI = fileURLToPath(new URL('../../node/cli/main.ts', import.meta.url))

/**
 * The recipient runs as its own `dmn start` process, as it would in production: its RSA-4096
 * unwraps and receipt signatures must not share the sender's event loop.
 */
async function startRecipient(dataDir: string, chainUrl: string, contract: string) {
  const wallet = Wallet.createRandom()
  await new RpcClient({ url: chainUrl, timeoutMs: 10_000 }).call('anvil_setBalance', [
    wallet.address,
    toHex(10n ** 20n)
  ])
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      DMN_DATA_DIR: dataDir,
      DMN_MASTER_PASSWORD: DEMO_PASSWORD,
      DMN_P2P_HOST: '127.0.0.1',
      DMN_P2P_PORT: '0',
      DMN_API_INTERNAL_PORT: '0',
      DMN_API_EXTERNAL_HOST: '127.0.0.1',
      DMN_API_EXTERNAL_PORT: '0',
      DMN_CHAIN_RPC_URL: chainUrl,
      DMN_CHAIN_PRIVATE_KEY: wallet.privateKey,
      DMN_CHAIN_CONTRACT_ADDRESS: contract,
      DMN_LOG_LEVEL: 'info'
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const started = await new Promise<{ peerId: string; addresses: string[] }>((resolve, reject) => {
    let buffer = ''
    let p2p: { peerId: string; addresses: string[] } | undefined
    const timer = setTimeout(() => reject(new Error('the recipient did not start within 60 s')), 60_000)
    child.once('exit', (code) => reject(new Error(`the recipient exited with ${code}`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        const entry = JSON.parse(line) as { msg?: string; peerId?: string; addresses?: string[] }
        if (entry.msg === 'p2p started')
          p2p = { peerId: entry.peerId as string, addresses: entry.addresses ?? [] }
        if (entry.msg === 'node ready' && p2p) {
          clearTimeout(timer)
          resolve(p2p)
        }
      }
    })
  })
  child.stdout?.resume()
  return {
    ...started,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** Sealed envelopes a recipient refused for rate (each one an RSA signature made in vain). */
function rateRefusals(counts: {
  received: readonly { protocol: string; error: string; count: number }[]
}): number {
  return counts.received
    .filter((r) => r.protocol === SHARE_PROTOCOL && r.error === 'RateLimitedError')
    .reduce((sum, r) => sum + r.count, 0)
}

const fmt = (l: Load) =>
  `${String(l.rps).padStart(7)} req/s  p50 ${String(l.p50Ms).padStart(4)} ms  p99 ${String(l.p99Ms).padStart(4)} ms  (${l.requests} requests, ${l.non2xx} non-2xx, ${l.errors} errors)`

const cluster = await startLocalCluster({
  names: ['A'],
  logger: pino({ level: 'silent' }),
  // Lifted so the limiter is exercised but the figure is the stack's, not the configured limit.
  rateLimit: { perSecond: 1e9, burst: 1e9 }
})
const bare = await bareHono()
let recipient: Awaited<ReturnType<typeof startRecipient>> | undefined
try {
  const a = cluster.nodes[0] as (typeof cluster.nodes)[0] & object
  recipient = await startRecipient(join(cluster.rootDir, 'B'), cluster.chainUrl, cluster.contractAddress)
  const address = recipient.addresses.find((x) => x.includes('/127.0.0.1/')) ?? recipient.addresses[0]
  await a.node.p2p.connect(address?.includes('/p2p/') ? address : `${address}/p2p/${recipient.peerId}`)
  const key = a.node.apiKeys.create({ name: 'bench', scopes: ['share', 'read'] }).key
  console.log(`API benchmark: autocannon, ${CONNECTIONS} connections, ${DURATION} s per run, 127.0.0.1`)
  // First, while the nodes are idle: the share run leaves deliveries and audit transactions behind.
  const sign = await signRate()
  const honoHealth = await load(`${bare.url}/health`)
  console.log(`GET /health   bare Hono hello-world  ${fmt(honoHealth)}`)
  const ourHealth = await load(`${a.externalUrl}/health`)
  console.log(`GET /health   node external API      ${fmt(ourHealth)}`)

  const body = JSON.stringify({ data: randomBytes(512).toString('hex'), recipient: recipient.peerId })
  // Accepted is what the API answered 201; delivered is what came back with a verified receipt in
  // the same window. The difference is the backlog the run leaves behind.
  let delivered = 0
  const onDelivered = () => {
    delivered += 1
  }
  a.node.p2p.on('share:delivered', onDelivered)
  const wastedBefore = rateRefusals(a.node.p2p.refusalCounts())
  const loadStart = performance.now()
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
  const loadSeconds = (performance.now() - loadStart) / 1000
  const deliveredInWindow = delivered
  const accepted = shares.requests - shares.non2xx - shares.errors
  // Then the backlog drains (bounded wait), so the next run starts from an idle node.
  const drainDeadline = performance.now() + 120_000
  while (delivered < accepted && performance.now() < drainDeadline)
    await new Promise((r) => setTimeout(r, 100))
  a.node.p2p.off('share:delivered', onDelivered)
  const wasted = rateRefusals(a.node.p2p.refusalCounts()) - wastedBefore
  const deliveredPerSecond = Math.round(deliveredInWindow / loadSeconds)
  const backlog = accepted - deliveredInWindow
  console.log(`POST /share_data 1 KiB standard      ${fmt(shares)}`)
  console.log(
    `  delivered with verified receipts     ${String(deliveredPerSecond).padStart(7)} shares/s in the same window; backlog left ${backlog} of ${accepted} accepted; wasted signatures (refused for rate) ${wasted}`
  )
  const healthRatio = Number(((ourHealth.rps / Math.max(1, honoHealth.rps)) * 100).toFixed(1))
  console.log(`GET /health node / bare Hono            ${String(healthRatio).padStart(6)} %`)
  console.log(
    `RSA-PSS sign (${sign.keyBits}-bit, 1 KiB), one core   ${String(sign.perSecond).padStart(7)} signatures/s`
  )
  console.log(
    JSON.stringify({
      bench: 'api',
      durationSeconds: DURATION,
      connections: CONNECTIONS,
      health: { bareHono: honoHealth, node: ourHealth, nodePercentOfBareHono: healthRatio },
      shareData: {
        sharesPerSecond: shares.rps,
        ...shares,
        mode: 'per-share',
        accepted,
        deliveredPerSecond,
        deliveredInWindow,
        backlog,
        wastedSignatures: wasted
      },
      rsaPssSign: { perSecond: sign.perSecond, keyBits: sign.keyBits }
    })
  )
} finally {
  bare.server.close()
  await recipient?.stop()
  await cluster.stop()
}
