/**
 * Node-to-node share throughput over loopback, next to a raw TCP transfer of the same bytes.
 *
 *   node bench/p2p/share-throughput.ts [--count-small N] [--count-large N]
 *
 * Two real nodes (SQLite files with synchronous=FULL, key rings with the default 3072-bit signing and
 * 4096-bit encryption keys) on 127.0.0.1. For each size and tier, N shares are queued at once and the
 * clock stops when the sender holds every verified receipt: this covers record encryption at rest,
 * sealing, signing, Noise + Yamux transport, the receiver's checks and storage, and the receipt.
 * The raw TCP line sends the same number of payloads of the same size over a plain socket with a
 * one-byte acknowledgement each: the ceiling the transport alone allows. Last line: one JSON object.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Tier } from '../../node/core/share.ts'
import { createKeyRing } from '../../node/crypto/index.ts'
import { createLogger } from '../../node/log/logger.ts'
import { P2pService } from '../../node/p2p/index.ts'
import type { P2pEvents, P2pInit } from '../../node/p2p/index.ts'
import { openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'

const { values } = parseArgs({
  options: {
    'count-small': { type: 'string', default: '300' },
    'count-large': { type: 'string', default: '30' }
  }
})
const SIZES = [
  { label: '1 KiB', bytes: 1024, count: Number(values['count-small']) },
  { label: '1 MiB', bytes: 1024 * 1024, count: Number(values['count-large']) }
]
const TIERS: Tier[] = ['standard', 'high']

const init: P2pInit = {
  host: '127.0.0.1',
  port: 0,
  bootstrap: [],
  maxConnections: 50,
  trust: 'pin',
  allowlist: [],
  caCertificatePems: [],
  streamTimeoutMs: 60_000,
  retryBaseMs: 100,
  retryMaxMs: 1_000,
  shareExpiryMs: 3_600_000,
  healthIntervalMs: 600_000,
  deliveryConcurrency: 8,
  replayWindowSeconds: 300,
  // The receiver's per-peer limits would otherwise be what is measured.
  limits: { messagesPerSecond: 1e6, bytesPerSecond: 1e12, concurrentStreams: 64 }
}

async function startNode(dir: string, overrides: Partial<P2pInit> = {}) {
  const keyRing = await createKeyRing(join(dir, 'keyring.json'), 'bench password')
  const db = openDatabase(join(dir, 'node.db'), { synchronous: 'FULL' })
  migrate(db)
  const p2p = new P2pService(
    { db: () => db, keyRing: () => keyRing, logger: createLogger({ level: 'silent' }) },
    { ...init, ...overrides }
  )
  await p2p.start()
  const stop = async () => {
    await p2p.stop()
    db.close()
  }
  return { p2p, stop }
}

async function measureShares(
  sender: P2pService,
  recipient: string,
  bytes: number,
  count: number,
  tier: Tier
) {
  const payloads = Array.from({ length: count }, () => new Uint8Array(randomBytes(bytes)))
  const pending = new Set<string>()
  const done = new Promise<void>((resolve, reject) => {
    const onDelivered = ({ share }: P2pEvents['share:delivered'][0]) => {
      pending.delete(share.shareId)
      if (pending.size === 0) finish()
    }
    const onFailed = ({ share, error }: P2pEvents['share:attempt-failed'][0]) => {
      if (pending.has(share.shareId))
        reject(new Error(`delivery attempt failed: ${error} ${share.lastError}`))
    }
    const finish = () => {
      sender.off('share:delivered', onDelivered)
      sender.off('share:attempt-failed', onFailed)
      resolve()
    }
    sender.on('share:delivered', onDelivered)
    sender.on('share:attempt-failed', onFailed)
  })
  const start = performance.now()
  for (const data of payloads) pending.add(sender.shareData({ data, recipient, tier }).shareId)
  await done
  return (performance.now() - start) / 1000
}

/** Same count of same-size payloads over a plain TCP socket, each acknowledged by one byte. */
async function measureRawTcp(bytes: number, count: number) {
  const server = createServer((socket: Socket) => {
    let buffered = 0
    socket.on('data', (chunk) => {
      buffered += chunk.length
      while (buffered >= bytes) {
        buffered -= bytes
        socket.write(Buffer.of(1))
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const client = connect(port, '127.0.0.1')
  await once(client, 'connect')
  const payload = Buffer.from(new Uint8Array(randomBytes(bytes)))
  const start = performance.now()
  const acked = new Promise<void>((resolve) => {
    let acks = 0
    client.on('data', (chunk) => {
      acks += chunk.length
      if (acks >= count) resolve()
    })
  })
  for (let i = 0; i < count; i++) {
    if (!client.write(payload)) await once(client, 'drain')
  }
  await acked
  const seconds = (performance.now() - start) / 1000
  client.destroy()
  server.close()
  return seconds
}

const dir = mkdtempSync(join(tmpdir(), 'dmn-bench-p2p-'))
const results: Record<string, unknown>[] = []
try {
  const [a, b] = await Promise.all([startNode(join(dir, 'a')), startNode(join(dir, 'b'))])
  // High tier needs trust above a pin, on both ends: each operator allowlists the other node.
  b.p2p.allowPeer(a.p2p.peerId)
  a.p2p.allowPeer(b.p2p.peerId)
  await a.p2p.connect(b.p2p.multiaddrs[0] as string)
  // Warm-up: connection, certificate exchange, JIT.
  await measureShares(a.p2p, b.p2p.peerId, 1024, 10, 'standard')
  console.log('size    tier      shares  seconds  shares/s     MB/s | raw TCP shares/s   raw TCP MB/s')
  for (const size of SIZES) {
    const rawSeconds = await measureRawTcp(size.bytes, size.count)
    for (const tier of TIERS) {
      const seconds = await measureShares(a.p2p, b.p2p.peerId, size.bytes, size.count, tier)
      const mb = (size.bytes * size.count) / 1e6
      const row = {
        size: size.label,
        tier,
        shares: size.count,
        seconds: Number(seconds.toFixed(3)),
        sharesPerSecond: Number((size.count / seconds).toFixed(1)),
        mbPerSecond: Number((mb / seconds).toFixed(2)),
        rawTcpSharesPerSecond: Number((size.count / rawSeconds).toFixed(1)),
        rawTcpMbPerSecond: Number((mb / rawSeconds).toFixed(2))
      }
      results.push(row)
      console.log(
        `${row.size.padEnd(8)}${tier.padEnd(10)}${String(row.shares).padStart(6)}${row.seconds.toFixed(3).padStart(9)}` +
          `${row.sharesPerSecond.toFixed(1).padStart(10)}${row.mbPerSecond.toFixed(2).padStart(9)} |` +
          `${row.rawTcpSharesPerSecond.toFixed(1).padStart(17)}${row.rawTcpMbPerSecond.toFixed(2).padStart(15)}`
      )
    }
  }
  await Promise.all([a.stop(), b.stop()])
} finally {
  rmSync(dir, { recursive: true, force: true })
}
console.log(JSON.stringify({ bench: 'p2p-share-throughput', node: process.version, results }))
