import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyFingerprint, sealEnvelope } from '../../node/crypto/index.ts'
import type { Tier } from '../../node/core/share.ts'
import {
  LIBP2P_KEY_SECRET,
  MAX_CONTROL_FRAME_BYTES,
  MAX_FRAME_BYTES,
  type P2pEvents,
  SHARE_PROTOCOL
} from '../../node/p2p/index.ts'
import { decodeMessage, encodeFrameHeader, frameStream } from '../../node/p2p/framing.ts'
import { sendEnvelope } from '../../node/p2p/share-protocol.ts'
import { keyRingIn, nextEvent, startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

type Refused = P2pEvents['refused'][0]

/** Seals `data` from `from` to `to` with the real envelope, optionally bending one field. */
function seal(
  from: TestNode,
  to: TestNode,
  opts: { data?: Uint8Array; tier?: Tier; timestamp?: number; shareId?: string; signer?: TestNode } = {}
) {
  const signer = opts.signer ?? from
  return sealEnvelope({
    header: {
      shareId: opts.shareId ?? randomBytes(16).toString('hex'),
      sender: from.p2p.peerId,
      recipient: to.p2p.peerId,
      tier: opts.tier ?? 'standard',
      senderKeyId: keyFingerprint(signer.keyRing.identity.signing.publicKeyPem),
      recipientKeyId: keyFingerprint(to.keyRing.identity.encryption.publicKeyPem),
      ...(opts.timestamp === undefined ? {} : { timestamp: opts.timestamp })
    },
    plaintext: opts.data ?? randomBytes(4096),
    senderSigningPrivateKeyPem: signer.keyRing.identity.signing.privateKeyPem,
    recipientEncryptionPublicKeyPem: to.keyRing.identity.encryption.publicKeyPem
  })
}

function send(from: TestNode, to: TestNode, bytes: Uint8Array) {
  return sendEnvelope(from.p2p.libp2p, peerIdFromString(to.p2p.peerId), bytes, {
    signal: AbortSignal.timeout(10_000)
  })
}

/** Resolves with the refusal name the peer answered with. */
async function refusalOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    return (err as { refusal?: string }).refusal ?? (err as Error).name
  }
  throw new Error('the peer accepted the message')
}

describe('refusals', () => {
  const dirs = [
    tempDir('recv'),
    tempDir('send'),
    tempDir('other'),
    tempDir('pin1'),
    tempDir('pin2'),
    tempDir('slow')
  ]
  const nodes: TestNode[] = []
  let b: TestNode // the receiver under attack
  let a: TestNode // a legitimate sender
  let d: TestNode // another peer

  async function connected(from: TestNode, to: TestNode) {
    await from.p2p.connect(to.p2p.multiaddrs[0]!)
    await waitFor('certificates on both ends', () =>
      Boolean(
        from.p2p.peers().find((p) => p.peerId === to.p2p.peerId)?.certificatePem &&
          to.p2p.peers().find((p) => p.peerId === from.p2p.peerId)?.certificatePem
      )
    )
  }

  /** B keeps serving: a legitimate sender still gets a verified receipt. */
  async function expectStillServing() {
    const receipt = await send(a, b, seal(a, b).bytes)
    expect(receipt.body.recipient).toBe(b.p2p.peerId)
  }

  beforeAll(async () => {
    b = await startNode(dirs[0]!.path)
    ;[a, d] = await Promise.all([startNode(dirs[1]!.path), startNode(dirs[2]!.path)])
    nodes.push(b, a, d)
    await Promise.all([connected(a, b), connected(d, b)])
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    for (const dir of dirs) dir.remove()
  })

  it('accepts a well-formed share (the baseline every refusal below differs from)', async () => {
    await expectStillServing()
  })

  it('refuses a replayed frame with ReplayedNonceError', async () => {
    const { bytes } = seal(a, b)
    await send(a, b, bytes)
    expect(await refusalOf(send(a, b, bytes))).toBe('ReplayedNonceError')
    await expectStillServing()
  })

  it("refuses a frame signed with another peer's key with EnvelopeSignatureError", async () => {
    const { bytes } = seal(a, b, { signer: d })
    expect(await refusalOf(send(a, b, bytes))).toBe('EnvelopeSignatureError')
    await expectStillServing()
  })

  it('refuses a frame whose header names another sender than the authenticated peer', async () => {
    const { bytes } = seal(d, b)
    expect(await refusalOf(send(a, b, bytes))).toBe('SenderMismatchError')
    await expectStillServing()
  })

  it('refuses a tampered ciphertext with EnvelopeSignatureError', async () => {
    const { bytes } = seal(a, b, { data: randomBytes(8192) })
    const tampered = Uint8Array.from(bytes)
    tampered[Math.floor(tampered.length / 2)]! ^= 0x01
    expect(await refusalOf(send(a, b, tampered))).toBe('EnvelopeSignatureError')
    await expectStillServing()
  })

  it('refuses an oversized frame with FrameTooLargeError before reading it', async () => {
    const refused = nextEvent<Refused>(b.p2p, 'refused', (r) => r.error === 'FrameTooLargeError')
    const stream = await a.p2p.libp2p.dialProtocol(peerIdFromString(b.p2p.peerId), SHARE_PROTOCOL)
    stream.send(encodeFrameHeader(MAX_FRAME_BYTES + 1))
    stream.send(randomBytes(64 * 1024))
    const answer = decodeMessage(
      await frameStream(stream, MAX_CONTROL_FRAME_BYTES).read({ signal: AbortSignal.timeout(10_000) })
    )
    expect(answer).toMatchObject({ ok: false, error: 'FrameTooLargeError' })
    expect((await refused).peerId).toBe(a.p2p.peerId)
    stream.abort(new Error('done'))
    await expectStillServing()
  })

  it('refuses a stale timestamp with StaleTimestampError', async () => {
    const { bytes } = seal(a, b, { timestamp: Date.now() - 60 * 60_000 })
    expect(await refusalOf(send(a, b, bytes))).toBe('StaleTimestampError')
    await expectStillServing()
  })

  it('refuses random bytes with EnvelopeMalformedError', async () => {
    expect(await refusalOf(send(a, b, randomBytes(2048)))).toBe('EnvelopeMalformedError')
    await expectStillServing()
  })

  it('refuses a high-tier share from a peer trusted only by pinning with InsufficientTrustError', async () => {
    expect(await refusalOf(send(a, b, seal(a, b, { tier: 'high' }).bytes))).toBe('InsufficientTrustError')
    b.p2p.allowPeer(a.p2p.peerId)
    const receipt = await send(a, b, seal(a, b, { tier: 'high' }).bytes)
    expect(receipt.body.tier).toBe('high')
  })

  it('stores a retried share once and answers it with the same receipt', async () => {
    const shareId = randomBytes(16).toString('hex')
    const data = randomBytes(1000)
    const first = await send(a, b, seal(a, b, { shareId, data }).bytes)
    // Same share id, fresh nonce: what the delivery worker sends when the first answer was lost.
    const second = await send(a, b, seal(a, b, { shareId, data }).bytes)
    expect(second).toEqual(first)
    expect(b.p2p.sharesOf(first.body.dataHash).filter((s) => s.shareId === shareId)).toHaveLength(1)
  })

  it('refuses a peer the policy denies with PeerDeniedError and disconnects it', async () => {
    const refused = nextEvent<Refused>(
      b.p2p,
      'refused',
      (r) => r.peerId === d.p2p.peerId && r.error === 'PeerDeniedError'
    )
    await b.p2p.denyPeer(d.p2p.peerId)
    // D must notice the hang-up first, or it would try the dying connection instead of dialling anew.
    await waitFor(
      'D to see the connection closed',
      () => d.p2p.libp2p.getConnections(peerIdFromString(b.p2p.peerId)).length === 0
    )
    await expect(send(d, b, seal(d, b).bytes)).rejects.toThrow()
    expect((await refused).protocol).toBe('connection')
    expect(b.p2p.libp2p.getConnections(peerIdFromString(d.p2p.peerId))).toHaveLength(0)
    await expectStillServing()
  })

  it('refuses a pinned peer that presents a new key with PinnedKeyChangedError', async () => {
    const first = await startNode(dirs[3]!.path)
    nodes.push(first)
    await connected(first, b)
    const pinned = b.p2p.peers().find((p) => p.peerId === first.p2p.peerId)!
    expect(pinned.trust).toBe('pinned')
    // Same libp2p identity (same PeerId), new key ring: what an impersonator with a stolen PeerId key has.
    const secret = first.keyRing.getSecret(LIBP2P_KEY_SECRET)!
    const peerId = first.p2p.peerId
    await first.stop()
    nodes.splice(nodes.indexOf(first), 1)
    await waitFor(
      'B to see the first node go',
      () => b.p2p.libp2p.getConnections(peerIdFromString(peerId)).length === 0
    )
    await (await keyRingIn(dirs[4]!.path)).setSecret(LIBP2P_KEY_SECRET, secret)
    const refused = nextEvent<Refused>(
      b.p2p,
      'refused',
      (r) => r.peerId === peerId && r.error === 'PinnedKeyChangedError'
    )
    const impostor = await startNode(dirs[4]!.path)
    nodes.push(impostor)
    expect(impostor.p2p.peerId).toBe(peerId)
    await impostor.p2p.connect(b.p2p.multiaddrs[0]!)
    expect(await refusalOf(send(impostor, b, seal(impostor, b).bytes))).toBe('PinnedKeyChangedError')
    await refused
    expect(b.p2p.peers().find((p) => p.peerId === peerId)?.signingKeyFpr).toBe(pinned.signingKeyFpr)
    await expectStillServing()
  })

  it('refuses a peer over its message rate with RateLimitedError while serving other peers', async () => {
    const slow = await startNode(dirs[5]!.path, {
      limits: { messagesPerSecond: 0.01, bytesPerSecond: 64 * 1024 * 1024, concurrentStreams: 4 }
    })
    nodes.push(slow)
    await Promise.all([connected(a, slow), connected(b, slow)])
    await send(a, slow, seal(a, slow).bytes)
    expect(await refusalOf(send(a, slow, seal(a, slow).bytes))).toBe('RateLimitedError')
    const receipt = await send(b, slow, seal(b, slow).bytes)
    expect(receipt.body.sender).toBe(b.p2p.peerId)
  })
})
