/**
 * Node-to-node share throughput over loopback, next to a raw TCP transfer of the same bytes.
 *
 *   node bench/p2p/share-throughput.ts [--count-small N] [--count-large N] [--count-batched N] [--batch-max N]
 *
 * Two real nodes in two processes (SQLite files with synchronous=FULL, their WAL checkpointed from
 * a thread of its own every second as the node's store does, key rings with the default 3072-bit
 * signing and 4096-bit encryption keys) on 127.0.0.1; the receiver runs in a child process
 * driven over its stdin/stdout. For each size and tier, N shares are queued at once and the
 * clock stops when the sender holds every verified receipt: this covers record encryption at rest,
 * sealing, signing, Noise + Yamux transport, the receiver's checks and storage, and the receipt.
 * The raw TCP line sends the same number of payloads of the same size over a plain socket to the same
 * child process, with a one-byte acknowledgement each: the ceiling the transport alone allows.
 *
 * Each row also prints the bound of its essential operations, each priced in the same run as the
 * bare node:crypto, SQLite or libp2p operation (none of the node's own code around it, so a copy or
 * a detour in that code counts against the figure, never in its favour), with keys of the nodes'
 * sizes. Per side: one SHA-256 of the data (its `data_hash`); two cipher passes, both essential
 * under the design: the envelope's content cipher (Fernet or AES-256-GCM under a fresh content key
 * per share) and the record's Fernet encryption at rest under the node's own data key (a different
 * key with another lifetime: rotated, rewrapped, never sent); one durable binary write of the
 * record's token (an insert and a synchronous=FULL commit into a scratch database beside the nodes'
 * own); and RSA: the sender's OAEP wrap, PSS signature over the envelope (its SHA-256 of the
 * envelope's bytes included) and receipt check, the receiver's PSS check of the envelope (hash
 * included), OAEP unwrap and receipt signature. Then the libp2p transfer of the envelope: one
 * stream per envelope between the two nodes over their own connection (Noise, Yamux, the node's
 * length-prefixed frame), a one-byte answer, as many at once as delivery runs (`deliveryConcurrency`).
 * Sender and receiver share this 2-core machine with each other (and with whatever else runs), so
 * the bound is one share per sum of both sides' costs and the transfer (`boundSharesPerSecond`,
 * its parts in `boundMs`); the RSA operations alone give `rsaBoundSharesPerSecond`. The raw TCP
 * columns (the same payloads over a plain socket, a one-byte acknowledgement each) are the ceiling
 * of the loopback alone, for comparison. The receiver runs with the default per-peer limits;
 * `wastedSignatures` counts envelopes it refused for rate (sealed and signed in vain).
 *
 * Rows of `"mode": "per-share"` come from a sender with batching off; rows of `"mode": "batched"`
 * from a second sender with `p2p.batchMax` = `--batch-max` (README "Batched delivery"), where the
 * clock stops when every share's receipt, under its batch's signed root, is verified and stored.
 * Last line: one JSON object.
 */
import { spawn } from 'node:child_process'
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Tier } from '../../node/core/share.ts'
import { dataHashOf } from '../../node/core/accept-share.ts'
import { canonicalReceipt, type ReceiptBody } from '../../node/core/receipt.ts'
import {
  createKeyRing,
  generateRsaKeyPair,
  keyFingerprint,
  oaepUnwrap,
  oaepWrap,
  sealEnvelope,
  signPss,
  verifyPss
} from '../../node/crypto/index.ts'
import { decodeEnvelope } from '../../node/crypto/envelope-codec.ts'
import { fernetEncryptBytes } from '../../node/crypto/fernet.ts'
import { frameStream } from '../../node/p2p/framing.ts'
import type { DmnLibp2p } from '../../node/p2p/libp2p-node.ts'
import { P2P_DEFAULTS } from '../../node/p2p/defaults.ts'
import { MAX_FRAME_BYTES, SHARE_PROTOCOL } from '../../node/p2p/index.ts'
import { createLogger } from '../../node/log/logger.ts'
import { P2pService } from '../../node/p2p/index.ts'
import type { P2pEvents, P2pInit } from '../../node/p2p/index.ts'
import { openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { startCheckpointer } from '../../node/store/checkpointer.ts'
import { CHECKPOINT_INTERVAL_MS } from '../../node/store/store-service.ts'

const { values } = parseArgs({
  // The soak run imports this file for its nodes, with options of its own.
  args: import.meta.main ? process.argv.slice(2) : [],
  options: {
    'count-small': { type: 'string', default: '300' },
    'count-large': { type: 'string', default: '30' },
    'count-batched': { type: 'string', default: '3000' },
    'batch-max': { type: 'string', default: '64' },
    /** Internal: run as the receiver process in this data directory. */
    receiver: { type: 'string' }
  }
})
const SIZES = [
  { label: '1 KiB', bytes: 1024, count: Number(values['count-small']) },
  { label: '1 MiB', bytes: 1024 * 1024, count: Number(values['count-large']) }
]
const TIERS: Tier[] = ['standard', 'high']
const BATCH_MAX = Number(values['batch-max'])
const BATCHED_SIZES = [
  { label: '1 KiB', bytes: 1024, count: Number(values['count-batched']) },
  { label: '1 MiB', bytes: 1024 * 1024, count: Number(values['count-large']) }
]

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
  // The defaults: the sender paces to what the receiver announces, and the default must admit it.
  limits: P2P_DEFAULTS.limits
}

export async function startNode(dir: string, overrides: Partial<P2pInit> = {}) {
  const keyRing = await createKeyRing(join(dir, 'keyring.json'), 'bench password')
  const db = openDatabase(join(dir, 'node.db'), { synchronous: 'FULL' })
  migrate(db)
  // The WAL is folded back as the node's store does it: from a thread of its own, every second.
  const checkpointer = startCheckpointer({
    path: join(dir, 'node.db'),
    intervalMs: CHECKPOINT_INTERVAL_MS,
    synchronous: 'FULL',
    onError: (message) => console.error(`WAL checkpoint failed: ${message}`)
  })
  const p2p = new P2pService(
    { db: () => db, keyRing: () => keyRing, logger: createLogger({ level: 'silent' }) },
    { ...init, ...overrides }
  )
  await p2p.start()
  const stop = async () => {
    await p2p.stop()
    await checkpointer.stop()
    db.close()
  }
  return { p2p, keyRing, db, stop }
}

async function measureShares(
  sender: P2pService,
  recipient: string,
  bytes: number,
  count: number,
  tier: Tier
) {
  // One buffer each (a Buffer is a Uint8Array): no copy of every payload for the collector to reclaim mid-row.
  const payloads: Uint8Array[] = Array.from({ length: count }, () => randomBytes(bytes))
  const pending = new Set<string>()
  // Shares are delivered while later groups are still being queued: the run ends once all are queued.
  let allQueued = false
  let finishRun = () => {}
  const done = new Promise<void>((resolve, reject) => {
    const onDelivered = ({ share }: P2pEvents['share:delivered'][0]) => {
      pending.delete(share.shareId)
      if (allQueued && pending.size === 0) finish()
    }
    // A share that failed for good stops the run; an attempt retried (a connection lost to an
    // overloaded machine) is counted and its time stays in the figure.
    const onFailed = ({ share, error, final }: P2pEvents['share:attempt-failed'][0]) => {
      if (!pending.has(share.shareId)) return
      if (final) reject(new Error(`delivery failed: ${error} ${share.lastError}`))
      else lastRetriedAttempts++
    }
    const finish = () => {
      sender.off('share:delivered', onDelivered)
      sender.off('share:attempt-failed', onFailed)
      resolve()
    }
    finishRun = finish
    sender.on('share:delivered', onDelivered)
    sender.on('share:attempt-failed', onFailed)
  })
  lastRetriedAttempts = 0
  const start = performance.now()
  // Queued as the API queues them (queueShare: the acceptances of one turn of the event loop share a
  // transaction, at most 256 to a group); the queueing's clock stops once the last one committed.
  await Promise.all(
    payloads.map(async (data) => pending.add((await sender.queueShare({ data, recipient, tier })).shareId))
  )
  lastAcceptSeconds = (performance.now() - start) / 1000
  allQueued = true
  if (pending.size === 0) finishRun()
  await done
  return (performance.now() - start) / 1000
}

/** How long the last `measureShares` took to queue its shares (grouped commits, `queueShare`). */
let lastAcceptSeconds = 0
/** Attempts of the last `measureShares` that failed and were retried. */
let lastRetriedAttempts = 0

/** Mean milliseconds of `fn` over `n` runs (after one untimed run). */
function costMs(n: number, fn: () => void): number {
  fn()
  const start = performance.now()
  for (let i = 0; i < n; i++) fn()
  return (performance.now() - start) / n
}

export type Keys = {
  signing: { privateKeyPem: string; publicKeyPem: string }
  encryption: { privateKeyPem: string; publicKeyPem: string }
}

/** One Fernet encryption as bare node:crypto: AES-128-CBC and HMAC-SHA256 over version, time, IV and ciphertext. */
function fernetPass(plaintext: Uint8Array, key: Buffer): void {
  const head = Buffer.alloc(25)
  const cipher = createCipheriv('aes-128-cbc', key.subarray(16), head.subarray(9))
  const body = cipher.update(plaintext)
  const last = cipher.final()
  createHmac('sha256', key.subarray(0, 16)).update(head).update(body).update(last).digest()
}

/** One Fernet decryption as bare node:crypto: the HMAC check, then AES-128-CBC (padding left on). */
function fernetOpenPass(token: Uint8Array, key: Buffer): void {
  const macAt = token.length - 32
  createHmac('sha256', key.subarray(0, 16)).update(token.subarray(0, macAt)).digest()
  const decipher = createDecipheriv('aes-128-cbc', key.subarray(16), token.subarray(9, 25))
  decipher.setAutoPadding(false)
  decipher.update(token.subarray(25, macAt))
  decipher.final()
}

/** The content cipher of `tier`, both ways, as bare node:crypto (GCM: one pass each way). */
function contentPasses(tier: Tier, plaintext: Uint8Array) {
  const key = randomBytes(32)
  if (tier === 'standard') {
    const token = fernetEncryptBytes(
      { signing: key.subarray(0, 16), encryption: key.subarray(16) },
      plaintext
    )
    return { seal: () => fernetPass(plaintext, key), open: () => fernetOpenPass(token, key) }
  }
  const iv = randomBytes(12)
  const sealed = createCipheriv('aes-256-gcm', key, iv)
  const ciphertext = Buffer.concat([sealed.update(plaintext), sealed.final()])
  const tag = sealed.getAuthTag()
  return {
    seal: () => {
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.update(plaintext)
      cipher.final()
      cipher.getAuthTag()
    },
    open: () => {
      const decipher = createDecipheriv('aes-256-gcm', key, iv)
      decipher.setAuthTag(tag)
      decipher.update(ciphertext)
      decipher.final()
    }
  }
}

/** A scratch database beside the nodes' (same disk, same pragmas) for the price of one durable write. */
export function scratchWriter(dir: string) {
  const db = openDatabase(join(dir, 'bound.db'), { synchronous: 'FULL' })
  db.exec('CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)')
  const insert = db.prepare<[Uint8Array]>('INSERT INTO blobs (bytes) VALUES (?)')
  const clear = db.prepare('DELETE FROM blobs')
  const write = db.transaction((bytes: Uint8Array) => insert.run(bytes))
  return { write: (bytes: Uint8Array) => write(bytes), clear: () => clear.run(), close: () => db.close() }
}

const round = (ms: number) => Number(ms.toFixed(2))

/** A share of `bytes` at `tier` and one real envelope of it: the sizes the RSA operations hash and the transfer carries. */
function sealedShare(
  keys: { sender: Keys; receiver: Keys; senderId: string; receiverId: string },
  bytes: number,
  tier: Tier
) {
  const plaintext = new Uint8Array(randomBytes(bytes))
  const header = {
    shareId: randomBytes(16).toString('hex'),
    sender: keys.senderId,
    recipient: keys.receiverId,
    tier,
    senderKeyId: keyFingerprint(keys.sender.signing.publicKeyPem),
    recipientKeyId: keyFingerprint(keys.receiver.encryption.publicKeyPem)
  }
  const sealed = sealEnvelope({
    header,
    plaintext,
    senderSigningPrivateKeyPem: keys.sender.signing.privateKeyPem,
    recipientEncryptionPublicKeyPem: keys.receiver.encryption.publicKeyPem
  }).bytes
  return { plaintext, header, sealed }
}

/**
 * The bound of one share of `bytes` at `tier` (bench header): each essential operation of each side
 * measured here as the bare operation, plus the libp2p transfer time per envelope; and the bound of
 * the RSA operations alone.
 */
export function bound(
  keys: { sender: Keys; receiver: Keys; senderId: string; receiverId: string },
  writer: ReturnType<typeof scratchWriter>,
  bytes: number,
  tier: Tier,
  transferMsPerShare: number
) {
  const n = bytes > 64 * 1024 ? 10 : 30
  const { plaintext, header, sealed } = sealedShare(keys, bytes, tier)
  const envelope = decodeEnvelope(sealed)
  const body: ReceiptBody = {
    v: 1,
    shareId: header.shareId,
    dataHash: dataHashOf(plaintext),
    sender: keys.senderId,
    recipient: keys.receiverId,
    tier,
    receivedAt: Date.now()
  }
  const receipt = canonicalReceipt(body)
  const receiptSignature = signPss(keys.receiver.signing.privateKeyPem, receipt)
  const content = contentPasses(tier, plaintext)
  const atRestKey = randomBytes(32)
  const token = new Uint8Array(randomBytes(57 + 16 * (Math.floor(bytes / 16) + 1)))
  const hash = costMs(n, () => createHash('sha256').update(plaintext).digest())
  const atRest = costMs(n, () => fernetPass(plaintext, atRestKey))
  const write = costMs(n, () => writer.write(token))
  writer.clear()
  const sender = {
    hash,
    atRest,
    write,
    contentCipher: costMs(n, content.seal),
    wrap: costMs(n, () => oaepWrap(keys.receiver.encryption.publicKeyPem, randomBytes(32))),
    sign: costMs(n, () => signPss(keys.sender.signing.privateKeyPem, envelope.signed)),
    receiptVerify: costMs(n, () => verifyPss(keys.receiver.signing.publicKeyPem, receipt, receiptSignature))
  }
  const receiver = {
    verify: costMs(n, () => verifyPss(keys.sender.signing.publicKeyPem, envelope.signed, envelope.signature)),
    unwrap: costMs(n, () => oaepUnwrap(keys.receiver.encryption.privateKeyPem, envelope.wrappedKey)),
    contentDecipher: costMs(n, content.open),
    hash,
    atRest,
    write,
    receiptSign: costMs(n, () => signPss(keys.receiver.signing.privateKeyPem, receipt))
  }
  const sum = (side: Record<string, number>) => Object.values(side).reduce((a, b) => a + b, 0)
  const totalMs = sum(sender) + sum(receiver) + transferMsPerShare
  const sign = costMs(n, () => signPss(keys.sender.signing.privateKeyPem, plaintext.subarray(0, 1024)))
  const rounded = (side: Record<string, number>) =>
    Object.fromEntries(Object.entries(side).map(([k, v]) => [k, round(v)]))
  return {
    msPerShare: totalMs,
    boundSharesPerSecond: Number((1000 / totalMs).toFixed(1)),
    rsaBoundSharesPerSecond: Number((1000 / (receiver.unwrap + 2 * sign)).toFixed(1)),
    boundMs: {
      sender: rounded(sender),
      receiver: rounded(receiver),
      libp2pTransfer: round(transferMsPerShare),
      total: round(totalMs)
    }
  }
}

/** The bound's parts of one row, on one line. */
function boundLine(label: string, ms: ReturnType<typeof bound>['boundMs']): string {
  const side = (parts: Record<string, number>) =>
    Object.entries(parts)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')
  return (
    `  bound ms/share ${label}: sender ${side(ms.sender)} | receiver ${side(ms.receiver)} | ` +
    `libp2p transfer ${ms.libp2pTransfer.toFixed(2)} = ${ms.total.toFixed(2)}`
  )
}

/** CPU milliseconds this process used so far: all its threads, and its main thread (the event loop) alone. */
function cpuNow(): { all: number; main: number } {
  const all = process.cpuUsage()
  const main = process.threadCpuUsage()
  return { all: (all.user + all.system) / 1000, main: (main.user + main.system) / 1000 }
}

/** CPU milliseconds used so far by this process and by the receiver process. */
async function cpuMs(receiver: {
  ask: (command: Record<string, unknown>) => Promise<Record<string, unknown>>
}) {
  const answer = (await receiver.ask({ cpu: true })) as { all: number; main: number }
  return { sender: cpuNow(), receiver: answer }
}

/** Envelopes the receiver refused for rate so far: each a signature made in vain. */
function wastedSignatures(p2p: P2pService): number {
  return p2p
    .refusalCounts()
    .received.filter((r) => r.protocol === SHARE_PROTOCOL && r.error === 'RateLimitedError')
    .reduce((sum, r) => sum + r.count, 0)
}

/** The raw TCP side of the receiver: acknowledges every `bytes` received with one byte. */
async function rawAckServer(bytes: number): Promise<number> {
  const server = createServer((socket: Socket) => {
    let buffered = 0
    socket.on('data', (chunk) => {
      buffered += chunk.length
      while (buffered >= bytes) {
        buffered -= bytes
        socket.write(Buffer.of(1))
      }
    })
    socket.on('close', () => server.close())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  return typeof address === 'object' && address ? address.port : 0
}

/** Same count of same-size payloads over a plain TCP socket, each acknowledged by one byte. */
async function measureRawTcp(port: number, bytes: number, count: number) {
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
  return seconds
}

/** A protocol of this bench only: the transfer alone, no share logic on either end. */
const SINK_PROTOCOL = '/dmn-bench/sink/1.0.0'

/** The receiver's end of the transfer price: reads one frame per stream and answers one byte. */
async function handleSink(libp2p: DmnLibp2p): Promise<void> {
  await libp2p.handle(
    SINK_PROTOCOL,
    async (stream) => {
      const frames = frameStream(stream, MAX_FRAME_BYTES)
      try {
        await frames.read()
        await frames.write(Uint8Array.of(1))
        await stream.close()
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    },
    { maxInboundStreams: 128 }
  )
}

/**
 * `count` envelopes of `bytes` from `libp2p` to `peer` as the share protocol carries them (a stream
 * each, one frame, a short answer), `concurrency` at once; returns the seconds taken.
 */
async function measureLibp2pTransfer(
  libp2p: DmnLibp2p,
  peer: string,
  bytes: number,
  count: number,
  concurrency: number
): Promise<number> {
  const payload = new Uint8Array(randomBytes(bytes))
  const peerId = peerIdFromString(peer)
  const one = async () => {
    const stream = await libp2p.dialProtocol(peerId, SINK_PROTOCOL, { signal: AbortSignal.timeout(60_000) })
    const frames = frameStream(stream, MAX_FRAME_BYTES)
    await frames.write(payload)
    await frames.read()
    await stream.close()
  }
  await one()
  let left = count
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left > 0) {
        left--
        await one()
      }
    })
  )
  return (performance.now() - start) / 1000
}

/** The receiver process: one node, and raw TCP servers on request; commands are JSON lines on stdin. */
async function runReceiver(dir: string): Promise<void> {
  const node = await startNode(dir)
  const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
  reply({ peerId: node.p2p.peerId, address: node.p2p.multiaddrs[0] })
  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as {
      allow?: string
      raw?: number
      stop?: boolean
      rss?: boolean
      cpu?: boolean
      inbound?: boolean
      sink?: boolean
    }
    if (command.rss) {
      reply({ rss: process.memoryUsage().rss })
    } else if (command.cpu) {
      reply(cpuNow())
    } else if (command.inbound) {
      // For the soak run (bench/p2p/soak.ts): rows received, and how many share ids they hold.
      const row = node.db
        .prepare<[], { rows: number; ids: number }>(
          "SELECT count(*) AS rows, count(DISTINCT share_id) AS ids FROM shares WHERE direction = 'in'"
        )
        .get()
      reply(row ?? { rows: 0, ids: 0 })
    } else if (command.sink) {
      await handleSink(node.p2p.libp2p)
      reply({ ok: true })
    } else if (command.allow) {
      node.p2p.allowPeer(command.allow)
      reply({ ok: true })
    } else if (command.raw) {
      reply({ port: await rawAckServer(command.raw) })
    } else if (command.stop) {
      break
    }
  }
  // A stop command, or the parent went away (stdin closed): either way this process ends.
  await node.stop()
  reply({ ok: true })
  process.exit(0)
}

/** Starts the receiver process and returns a function that sends it one command and awaits the answer. */
export async function spawnReceiver(dir: string) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--receiver', dir], {
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async () => {
    const { value, done } = await lines.next()
    if (done) throw new Error('the receiver process exited')
    return JSON.parse(value as string) as Record<string, unknown>
  }
  const hello = await next()
  const ask = async (command: Record<string, unknown>) => {
    child.stdin.write(`${JSON.stringify(command)}\n`)
    return next()
  }
  return { peerId: hello['peerId'] as string, address: hello['address'] as string, ask }
}

if (values.receiver) {
  await runReceiver(values.receiver)
} else if (import.meta.main) {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-bench-p2p-'))
  const results: Record<string, unknown>[] = []
  try {
    const [a, c, b] = await Promise.all([
      startNode(join(dir, 'a')),
      startNode(join(dir, 'c'), { batchMax: BATCH_MAX, batchWindowMs: 10 }),
      spawnReceiver(join(dir, 'b'))
    ])
    // High tier needs trust above a pin, on both ends: each operator allowlists the other node.
    for (const sender of [a, c]) {
      await b.ask({ allow: sender.p2p.peerId })
      sender.p2p.allowPeer(b.peerId)
      await sender.p2p.connect(b.address)
      // Warm-up (connection, certificate exchange, JIT in both processes), so each row is steady state.
      for (const tier of TIERS) await measureShares(sender.p2p, b.peerId, 1024, 100, tier)
    }
    // Keys of the nodes' sizes (3072-bit signing, 4096-bit encryption) for the in-process costs.
    const [ss, se, rs, re] = await Promise.all([
      generateRsaKeyPair(3072),
      generateRsaKeyPair(4096),
      generateRsaKeyPair(3072),
      generateRsaKeyPair(4096)
    ])
    const keys = {
      sender: { signing: ss, encryption: se },
      receiver: { signing: rs, encryption: re },
      senderId: a.p2p.peerId,
      receiverId: b.peerId
    }
    console.log(
      'size    tier      shares  seconds  shares/s     MB/s | raw TCP shares/s   raw TCP MB/s |  bound/s  % of bound  RSA bound/s  wasted sigs | accepted in  delivered/s after | CPU ms sender receiver  CPU % of bound'
    )
    await b.ask({ sink: true })
    const writer = scratchWriter(dir)
    const boundLines: string[] = []
    for (const size of SIZES) {
      const { port } = (await b.ask({ raw: size.bytes })) as { port: number }
      const rawSeconds = await measureRawTcp(port, size.bytes, size.count)
      for (const tier of TIERS) {
        const wastedBefore = wastedSignatures(a.p2p)
        const cpuBefore = await cpuMs(b)
        const seconds = await measureShares(a.p2p, b.peerId, size.bytes, size.count, tier)
        const acceptSeconds = lastAcceptSeconds
        const cpuAfter = await cpuMs(b)
        const perShare = (after: number, before: number) => round((after - before) / size.count)
        const cpuMsPerShare = {
          sender: perShare(cpuAfter.sender.all, cpuBefore.sender.all),
          senderMainThread: perShare(cpuAfter.sender.main, cpuBefore.sender.main),
          receiver: perShare(cpuAfter.receiver.all, cpuBefore.receiver.all),
          receiverMainThread: perShare(cpuAfter.receiver.main, cpuBefore.receiver.main)
        }
        const wasted = wastedSignatures(a.p2p) - wastedBefore
        const envelopeBytes = sealedShare(keys, size.bytes, tier).sealed.length
        const transferSeconds = await measureLibp2pTransfer(
          a.p2p.libp2p,
          b.peerId,
          envelopeBytes,
          size.count,
          init.deliveryConcurrency
        )
        const bounds = bound(keys, writer, size.bytes, tier, (transferSeconds / size.count) * 1000)
        const mb = (size.bytes * size.count) / 1e6
        const sharesPerSecond = Number((size.count / seconds).toFixed(1))
        const row = {
          mode: 'per-share',
          size: size.label,
          tier,
          shares: size.count,
          seconds: Number(seconds.toFixed(3)),
          sharesPerSecond,
          mbPerSecond: Number((mb / seconds).toFixed(2)),
          rawTcpSharesPerSecond: Number((size.count / rawSeconds).toFixed(1)),
          rawTcpMbPerSecond: Number((mb / rawSeconds).toFixed(2)),
          boundSharesPerSecond: bounds.boundSharesPerSecond,
          percentOfBound: Number(((sharesPerSecond / bounds.boundSharesPerSecond) * 100).toFixed(1)),
          rsaBoundSharesPerSecond: bounds.rsaBoundSharesPerSecond,
          wastedSignatures: wasted,
          // The queueing (grouped commits) apart from the delivery that follows it.
          acceptSeconds: Number(acceptSeconds.toFixed(3)),
          deliveredPerSecond: Number((size.count / (seconds - acceptSeconds)).toFixed(1)),
          // CPU time per share in each process, all threads (the sender's includes accepting and the
          // bench's own loop, which draws the payloads), and the bound's cost as a share of their
          // sum: how near the work done comes to the essential work, whatever else the machine runs.
          senderCpuMsPerShare: cpuMsPerShare.sender,
          receiverCpuMsPerShare: cpuMsPerShare.receiver,
          cpuPercentOfBound: Number(
            ((bounds.msPerShare / (cpuMsPerShare.sender + cpuMsPerShare.receiver)) * 100).toFixed(1)
          ),
          boundMs: bounds.boundMs,
          // The same, all threads and the event loop's alone.
          cpuMsPerShare
        }
        results.push(row)
        console.log(
          `${row.size.padEnd(8)}${tier.padEnd(10)}${String(row.shares).padStart(6)}${row.seconds.toFixed(3).padStart(9)}` +
            `${row.sharesPerSecond.toFixed(1).padStart(10)}${row.mbPerSecond.toFixed(2).padStart(9)} |` +
            `${row.rawTcpSharesPerSecond.toFixed(1).padStart(17)}${row.rawTcpMbPerSecond.toFixed(2).padStart(15)} |` +
            `${row.boundSharesPerSecond.toFixed(1).padStart(9)}${row.percentOfBound.toFixed(1).padStart(11)}` +
            `${row.rsaBoundSharesPerSecond.toFixed(1).padStart(13)}${String(wasted).padStart(13)} |` +
            `${row.acceptSeconds.toFixed(3).padStart(12)}${row.deliveredPerSecond.toFixed(1).padStart(18)} |` +
            `${row.senderCpuMsPerShare.toFixed(2).padStart(14)}${row.receiverCpuMsPerShare.toFixed(2).padStart(9)}` +
            `${row.cpuPercentOfBound.toFixed(1).padStart(16)}`
        )
        boundLines.push(
          `${boundLine(`${row.size} ${tier}`, bounds.boundMs)}; CPU ms/share spent (main thread): ` +
            `sender ${row.cpuMsPerShare.sender.toFixed(2)} (${row.cpuMsPerShare.senderMainThread.toFixed(2)}), ` +
            `receiver ${row.cpuMsPerShare.receiver.toFixed(2)} (${row.cpuMsPerShare.receiverMainThread.toFixed(2)})`
        )
      }
    }
    for (const line of boundLines) console.log(line)
    console.log(
      `batched (p2p.batchMax ${BATCH_MAX})             shares/s     MB/s | accepted in  delivered/s after`
    )
    for (const size of BATCHED_SIZES) {
      for (const tier of TIERS) {
        const seconds = await measureShares(c.p2p, b.peerId, size.bytes, size.count, tier)
        const acceptSeconds = lastAcceptSeconds
        const mb = (size.bytes * size.count) / 1e6
        const row = {
          mode: 'batched',
          batchMax: BATCH_MAX,
          size: size.label,
          tier,
          shares: size.count,
          seconds: Number(seconds.toFixed(3)),
          sharesPerSecond: Number((size.count / seconds).toFixed(1)),
          mbPerSecond: Number((mb / seconds).toFixed(2)),
          // The queueing (grouped commits) apart from the delivery that follows and overlaps it.
          acceptSeconds: Number(acceptSeconds.toFixed(3)),
          deliveredPerSecond: Number((size.count / (seconds - acceptSeconds)).toFixed(1)),
          retriedAttempts: lastRetriedAttempts
        }
        results.push(row)
        console.log(
          `${row.size.padEnd(8)}${tier.padEnd(10)}${String(row.shares).padStart(6)}${row.seconds.toFixed(3).padStart(9)}` +
            `${row.sharesPerSecond.toFixed(1).padStart(10)}${row.mbPerSecond.toFixed(2).padStart(9)} |` +
            `${row.acceptSeconds.toFixed(3).padStart(11)}${row.deliveredPerSecond.toFixed(1).padStart(14)}`
        )
      }
    }
    writer.close()
    await a.stop()
    await c.stop()
    await b.ask({ stop: true })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(JSON.stringify({ bench: 'p2p-share-throughput', node: process.version, results }))
}
