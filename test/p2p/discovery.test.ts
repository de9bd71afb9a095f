import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalReceipt, receiptHash } from '../../node/core/receipt.ts'
import { verifyPss } from '../../node/crypto/index.ts'
import type { P2pEvents } from '../../node/p2p/index.ts'
import { nextEvent, startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

type Delivered = P2pEvents['share:delivered'][0]

/**
 * Three real nodes on 127.0.0.1: B is the only bootstrap peer of A and C, so A can reach C only
 * through the DHT.
 */
describe('three nodes with discovery', () => {
  const dirs = { a: tempDir('a'), b: tempDir('b'), c: tempDir('c') }
  let a: TestNode
  let b: TestNode
  let c: TestNode

  beforeAll(async () => {
    b = await startNode(dirs.b.path)
    ;[a, c] = await Promise.all([
      startNode(dirs.a.path, { bootstrap: b.p2p.multiaddrs }),
      startNode(dirs.c.path, { bootstrap: b.p2p.multiaddrs })
    ])
    // The DHT of B must know both before A can look C up through it.
    await waitFor('B to be connected to A and C', () => b.p2p.libp2p.getPeers().length >= 2)
  })

  afterAll(async () => {
    await Promise.all([a, b, c].map((n) => n?.stop()))
    for (const d of Object.values(dirs)) d.remove()
  })

  it('delivers a share from A to C, a peer A was never configured with, and the receipt verifies', async () => {
    // A was given B's address only; where C is, A learns from the DHT (its query or B's routing table).
    expect(b.p2p.multiaddrs.every((addr) => addr.endsWith(b.p2p.peerId))).toBe(true)
    const data = new TextEncoder().encode('quarterly figures, found through the DHT')
    const delivered = nextEvent<Delivered>(a.p2p, 'share:delivered')
    const queued = a.p2p.shareData({ data, recipient: c.p2p.peerId, tier: 'standard' })
    expect(queued.state).toBe('queued')

    const { share, receipt } = await delivered
    expect(share).toMatchObject({ shareId: queued.shareId, state: 'delivered' })
    expect(receipt.body).toMatchObject({
      shareId: queued.shareId,
      dataHash: queued.dataHash,
      sender: a.p2p.peerId,
      recipient: c.p2p.peerId,
      tier: 'standard'
    })
    // Checked independently of the node's own verification, with C's key taken from C's key ring.
    const signature = new Uint8Array(Buffer.from(receipt.signature, 'base64'))
    expect(
      verifyPss(c.keyRing.identity.signing.publicKeyPem, canonicalReceipt(receipt.body), signature)
    ).toBe(true)
    expect(
      verifyPss(a.keyRing.identity.signing.publicKeyPem, canonicalReceipt(receipt.body), signature)
    ).toBe(false)
    // Both ends hold the same receipt, so both compute the same audit leaf.
    const atC = c.p2p.getShare(queued.shareId)
    expect(atC).toMatchObject({ direction: 'in', state: 'received', sender: a.p2p.peerId })
    expect(receiptHash(atC.receipt!.body)).toEqual(receiptHash(a.p2p.getShare(queued.shareId).receipt!.body))
    expect((await c.p2p.getRecord(queued.dataHash)).data).toEqual(data)
    expect(a.p2p.getShare(queued.shareId).state).toBe('delivered')
  })

  it("keeps C's PeerId across a restart, and C still delivers under its pinned keys", async () => {
    const before = c.p2p.peerId
    await c.stop()
    c = await startNode(dirs.c.path, { bootstrap: b.p2p.multiaddrs })
    expect(c.p2p.peerId).toBe(before)
    expect(peerIdFromString(c.p2p.peerId).equals(peerIdFromString(before))).toBe(true)

    // A pinned C's keys on first contact; a restarted C with the same key ring is accepted again.
    const delivered = nextEvent<Delivered>(c.p2p, 'share:delivered')
    const queued = c.p2p.shareData({
      data: new TextEncoder().encode('after restart'),
      recipient: a.p2p.peerId
    })
    expect((await delivered).share.shareId).toBe(queued.shareId)
    expect(a.p2p.peers().find((p) => p.peerId === c.p2p.peerId)?.trust).toBe('pinned')
  })
})
