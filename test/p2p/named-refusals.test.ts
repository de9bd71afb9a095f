import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiMetrics } from '../../api/metrics.ts'
import { keyFingerprint, sealEnvelope } from '../../node/crypto/index.ts'
import {
  FETCH_PROTOCOL,
  MAX_CONTROL_FRAME_BYTES,
  MAX_FRAME_BYTES,
  type P2pEvents,
  SHARE_PROTOCOL
} from '../../node/p2p/index.ts'
import type { StoredShare } from '../../node/core/share-ports.ts'
import { decodeMessage, encodeFrameHeader, encodeMessage, frameStream } from '../../node/p2p/framing.ts'
import { createDmnLibp2p, type DmnLibp2p } from '../../node/p2p/libp2p-node.ts'
import { sendEnvelope } from '../../node/p2p/share-protocol.ts'
import { nextEvent, startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

type Refused = P2pEvents['refused'][0]

/** The receiver's per-peer stream limit: far below the 40 streams a peer opens at once. */
const CONCURRENT_STREAMS = 4
const STREAMS = 40
/** The sender's longest backoff: a retry-after hint longer than this is cut to it. */
const RETRY_MAX_MS = 60_000

function seal(from: TestNode, to: TestNode): Uint8Array {
  return sealEnvelope({
    header: {
      shareId: randomBytes(16).toString('hex'),
      sender: from.p2p.peerId,
      recipient: to.p2p.peerId,
      tier: 'standard',
      senderKeyId: keyFingerprint(from.keyRing.identity.signing.publicKeyPem),
      recipientKeyId: keyFingerprint(to.keyRing.identity.encryption.publicKeyPem)
    },
    plaintext: randomBytes(1024),
    senderSigningPrivateKeyPem: from.keyRing.identity.signing.privateKeyPem,
    recipientEncryptionPublicKeyPem: to.keyRing.identity.encryption.publicKeyPem
  }).bytes
}

/** Reads the one answer frame of a stream (a receipt or a refusal) and closes the stream. */
async function answerOf(stream: Stream, request?: Uint8Array): Promise<Record<string, unknown>> {
  const frames = frameStream(stream, MAX_FRAME_BYTES)
  const signal = AbortSignal.timeout(20_000)
  if (request) await frames.write(request, { signal })
  const answer = decodeMessage(await frames.read({ signal }))
  await stream.close({ signal })
  return answer
}

/** Counts the `refused` events of `node` that match, until `off()`. */
function countRefusals(node: TestNode, match: (r: Refused) => boolean): { n: number; off(): void } {
  const listener = (r: Refused) => {
    if (match(r)) counter.n += 1
  }
  const counter = { n: 0, off: () => node.p2p.off('refused', listener) }
  node.p2p.on('refused', listener)
  return counter
}

describe('refusals that name their reason', () => {
  const dirs = [tempDir('recv'), tempDir('send'), tempDir('slow'), tempDir('idle'), tempDir('burst')]
  const nodes: TestNode[] = []
  let r: TestNode // the receiver: few concurrent streams per peer
  let a: TestNode // the sender: one delivery at a time, long backoff cap
  let slow: TestNode // a recipient admitting one message per 100 s
  let idle: TestNode // a receiver with a short stream timeout
  let burst: TestNode // a sender with two deliveries at once: both sealed before any answer
  let bare: DmnLibp2p | undefined // a libp2p node without the node's protocols

  async function connected(from: TestNode, to: TestNode) {
    await from.p2p.connect(to.p2p.multiaddrs[0]!)
    await waitFor('certificates on both ends', () =>
      Boolean(
        from.p2p.peers().find((p) => p.peerId === to.p2p.peerId)?.certificatePem &&
          to.p2p.peers().find((p) => p.peerId === from.p2p.peerId)?.certificatePem
      )
    )
  }

  beforeAll(async () => {
    ;[r, a, slow, idle, burst] = await Promise.all([
      startNode(dirs[0]!.path, {
        limits: {
          messagesPerSecond: 1_000,
          bytesPerSecond: 64 * 1024 * 1024,
          concurrentStreams: CONCURRENT_STREAMS
        }
      }),
      // Health rounds often enough for a test to wait for one.
      startNode(dirs[1]!.path, {
        deliveryConcurrency: 1,
        retryBaseMs: 50,
        retryMaxMs: RETRY_MAX_MS,
        healthIntervalMs: 200
      }),
      startNode(dirs[2]!.path, {
        limits: { messagesPerSecond: 0.01, bytesPerSecond: 64 * 1024 * 1024, concurrentStreams: 4 }
      }),
      startNode(dirs[3]!.path, { streamTimeoutMs: 500 }),
      startNode(dirs[4]!.path, {
        deliveryConcurrency: 2,
        retryBaseMs: 50,
        retryMaxMs: RETRY_MAX_MS,
        healthIntervalMs: 200
      })
    ])
    nodes.push(r, a, slow, idle, burst)
    await Promise.all([connected(a, r), connected(burst, slow)])
  })

  afterAll(async () => {
    await bare?.stop()
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    for (const dir of dirs) dir.remove()
  })

  it('answers every one of 40 concurrent share streams with a receipt or a RateLimitedError frame', async () => {
    const rateLimited = countRefusals(
      r,
      (x) => x.peerId === a.p2p.peerId && x.protocol === SHARE_PROTOCOL && x.error === 'RateLimitedError'
    )
    const peer = peerIdFromString(r.p2p.peerId)
    // All streams open before any envelope is sent: the first four hold the peer's slots.
    const streams = await Promise.all(
      Array.from({ length: STREAMS }, () =>
        a.p2p.libp2p.dialProtocol(peer, SHARE_PROTOCOL, { signal: AbortSignal.timeout(20_000) })
      )
    )
    await waitFor(
      'the receiver to refuse the streams over its limit',
      () => rateLimited.n >= STREAMS - CONCURRENT_STREAMS
    )
    rateLimited.off()
    const answers = await Promise.all(streams.map((s) => answerOf(s, seal(a, r))))
    const outcomes = answers.map((x) => (x['ok'] === true ? 'receipt' : String(x['error'])))
    expect(outcomes.filter((o) => o === 'receipt')).toHaveLength(CONCURRENT_STREAMS)
    expect(outcomes.filter((o) => o === 'RateLimitedError')).toHaveLength(STREAMS - CONCURRENT_STREAMS)
  })

  it('answers 40 concurrent shares of one peer with receipts or RateLimitedError, none with a reset', async () => {
    const peer = peerIdFromString(r.p2p.peerId)
    const outcomes = await Promise.all(
      Array.from({ length: STREAMS }, () =>
        sendEnvelope(a.p2p.libp2p, peer, seal(a, r), { signal: AbortSignal.timeout(20_000) }).then(
          () => 'receipt',
          (err: { name: string; refusal?: string }) => err.refusal ?? err.name
        )
      )
    )
    expect(outcomes.filter((o) => o !== 'receipt' && o !== 'RateLimitedError')).toEqual([])
    expect(outcomes).toContain('receipt')
  })

  it('backs off on RateLimitedError and seals nothing more for that recipient until the backoff ends', async () => {
    const refusedAtSlow = countRefusals(slow, (x) => x.error === 'RateLimitedError')
    const before = Date.now()
    // Two go at once, before the recipient's first answer could announce its limits: one is refused.
    const queued = [1, 2, 3].map(
      () => burst.p2p.shareData({ data: randomBytes(512), recipient: slow.p2p.peerId }).shareId
    )
    const views = () => queued.map((id) => burst.p2p.getShare(id))
    const byState = async () =>
      waitFor('one share delivered and one refused', () => {
        const v = views()
        const delivered = v.find((s) => s.state === 'delivered')
        const refused = v.find((s) => s.state === 'queued' && s.lastError?.startsWith('RateLimitedError'))
        return delivered && refused && { delivered, refused, v }
      })
    const { delivered, refused, v } = await byState()
    const untouched = v.find((s) => s !== delivered && s !== refused) as StoredShare
    // The recipient's hint (about 100 s for its next message) wins over the 50 ms backoff, cut to the cap.
    expect(refused.nextAttemptMs).toBeGreaterThanOrEqual(before + RETRY_MAX_MS)
    expect(refused.attempts).toBe(1)
    expect(refused.lastError).toContain('backing off')
    // The third share was neither sealed nor sent: it waits for the same moment.
    expect(untouched).toMatchObject({ state: 'queued', attempts: 0 })
    expect(untouched.nextAttemptMs).toBe(refused.nextAttemptMs)
    expect(refusedAtSlow.n).toBe(1)
    // A successful ping makes a peer's shares due at once, but not those of a peer that asked for a pause.
    const pings = () => burst.p2p.peers().find((p) => p.peerId === slow.p2p.peerId)?.successes ?? 0
    const pinged = pings()
    await waitFor('a successful ping of the paused recipient', () => pings() > pinged)
    expect(burst.p2p.getShare(untouched.shareId)).toMatchObject({
      state: 'queued',
      attempts: 0,
      nextAttemptMs: refused.nextAttemptMs
    })
    expect(refusedAtSlow.n).toBe(1)
    refusedAtSlow.off()
  })

  it('refuses every frame of a peer that never presented a node certificate with PeerCertificateMissingError', async () => {
    bare = await createDmnLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      host: '127.0.0.1',
      port: 0,
      maxConnections: 10,
      refusePeer: () => false
    })
    await bare.start()
    const refused = nextEvent<Refused>(r.p2p, 'refused', (x) => x.peerId === bare?.peerId.toString())
    await bare.dial(multiaddr(r.p2p.multiaddrs[0]!), { signal: AbortSignal.timeout(10_000) })
    const peer = peerIdFromString(r.p2p.peerId)
    const share = await bare.dialProtocol(peer, SHARE_PROTOCOL)
    expect(await answerOf(share, randomBytes(2048))).toMatchObject({
      ok: false,
      error: 'PeerCertificateMissingError'
    })
    expect(await refused).toMatchObject({ protocol: SHARE_PROTOCOL, error: 'PeerCertificateMissingError' })
    const fetch = await bare.dialProtocol(peer, FETCH_PROTOCOL)
    expect(await answerOf(fetch, encodeMessage({ dataHash: 'ab'.repeat(32) }))).toMatchObject({
      ok: false,
      error: 'PeerCertificateMissingError'
    })
  })

  it('refuses a stream left idle past p2p.streamTimeoutMs with StreamTimeoutError', async () => {
    const refused = nextEvent<Refused>(idle.p2p, 'refused', (x) => x.peerId === a.p2p.peerId)
    await a.p2p.connect(idle.p2p.multiaddrs[0]!)
    // Nothing is written: the receiver waits for a frame until its stream timeout.
    const stream = await a.p2p.libp2p.dialProtocol(peerIdFromString(idle.p2p.peerId), SHARE_PROTOCOL)
    expect(await answerOf(stream)).toMatchObject({ ok: false, error: 'StreamTimeoutError' })
    expect(await refused).toMatchObject({ protocol: SHARE_PROTOCOL, error: 'StreamTimeoutError' })
  })

  it('refuses a fetch request frame over 64 KiB with FrameTooLargeError before reading it', async () => {
    const stream = await a.p2p.libp2p.dialProtocol(peerIdFromString(r.p2p.peerId), FETCH_PROTOCOL)
    stream.send(encodeFrameHeader(MAX_CONTROL_FRAME_BYTES + 1))
    stream.send(randomBytes(1024))
    expect(await answerOf(stream)).toMatchObject({ ok: false, error: 'FrameTooLargeError' })
  })

  it('counts refusals sent and received in /metrics by protocol and error name', async () => {
    const receiver = await createApiMetrics({ refusals: r.p2p }).registry.metrics()
    expect(receiver).toContain('# TYPE dmn_p2p_refusals_total counter')
    expect(receiver).toContain(
      `dmn_p2p_refusals_total{protocol="${SHARE_PROTOCOL}",error="PeerCertificateMissingError"} 1`
    )
    expect(receiver).toContain(
      `dmn_p2p_refusals_total{protocol="${FETCH_PROTOCOL}",error="FrameTooLargeError"} 1`
    )
    const rateLimited = receiver.match(
      new RegExp(`dmn_p2p_refusals_total\\{protocol="${SHARE_PROTOCOL}",error="RateLimitedError"\\} (\\d+)`)
    )
    expect(Number(rateLimited?.[1])).toBeGreaterThanOrEqual(STREAMS - CONCURRENT_STREAMS)
    // The sender counts the refusal its delivery worker got back from the slow recipient.
    const sender = await createApiMetrics({ refusals: burst.p2p }).registry.metrics()
    expect(sender).toContain(
      `dmn_p2p_refusals_received_total{protocol="${SHARE_PROTOCOL}",error="RateLimitedError"} 1`
    )
  })
})
