import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDataService, createNetworkService, type P2pEvents } from '../../node/p2p/index.ts'
import { nextEvent, startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

type Delivered = P2pEvents['share:delivered'][0]
type Refused = P2pEvents['refused'][0]

const B_ETH = '0x1111111111111111111111111111111111111b0b'

describe('recipients by address, fetch by hash, health and expiry', () => {
  const dirs = [tempDir('a'), tempDir('b'), tempDir('d'), tempDir('e'), tempDir('g')]
  const nodes: TestNode[] = []
  let a: TestNode
  let b: TestNode
  let d: TestNode

  beforeAll(async () => {
    ;[a, b, d] = await Promise.all([
      // Health rounds often enough for a test to wait for one.
      startNode(dirs[0]!.path, { healthIntervalMs: 200 }),
      startNode(dirs[1]!.path, { ethAddress: B_ETH }),
      startNode(dirs[2]!.path)
    ])
    nodes.push(a, b, d)
    await a.p2p.connect(b.p2p.multiaddrs[0]!)
    await d.p2p.connect(a.p2p.multiaddrs[0]!)
    await waitFor('A to verify B', () => a.p2p.peers().find((p) => p.peerId === b.p2p.peerId)?.ethAddress)
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    for (const dir of dirs) dir.remove()
  })

  it('delivers to a recipient named by the Ethereum address in its certificate', async () => {
    const delivered = nextEvent<Delivered>(a.p2p, 'share:delivered')
    const { shareId } = a.p2p.shareData({
      data: new Uint8Array([1, 2, 3]),
      recipient: B_ETH.toUpperCase().replace('0X', '0x')
    })
    const { share } = await delivered
    expect(share).toMatchObject({
      shareId,
      recipient: b.p2p.peerId,
      recipientLabel: B_ETH.toUpperCase().replace('0X', '0x')
    })
  })

  it('refuses a malformed recipient or more than 1 MiB, and keeps a share to an unknown address unresolved', () => {
    const waiting = a.p2p.shareData({ data: new Uint8Array(1), recipient: `0x${'2'.repeat(40)}` })
    expect(waiting.state).toBe('unresolved')
    expect(a.p2p.getShare(waiting.shareId)).toMatchObject({
      state: 'unresolved',
      recipient: `0x${'2'.repeat(40)}`
    })
    expect(() => a.p2p.shareData({ data: new Uint8Array(1), recipient: `0x${'2'.repeat(39)}` })).toThrow(
      expect.objectContaining({ name: 'UnknownRecipientError' })
    )
    expect(() => a.p2p.shareData({ data: new Uint8Array(1), recipient: 'not-a-peer' })).toThrow(
      expect.objectContaining({ name: 'UnknownRecipientError' })
    )
    expect(() => a.p2p.shareData({ data: new Uint8Array(1024 * 1024 + 1), recipient: b.p2p.peerId })).toThrow(
      expect.objectContaining({ name: 'InvalidShareRequestError' })
    )
    expect(a.p2p.stats().shares['out:queued'] ?? 0).toBe(0)
  })

  it('fetches a lost local copy back from the sender, and the sender serves it to nobody else', async () => {
    const data = new TextEncoder().encode('served again by hash, only to its recipient')
    const delivered = nextEvent<Delivered>(a.p2p, 'share:delivered')
    const { shareId, dataHash } = a.p2p.shareData({ data, recipient: b.p2p.peerId })
    await delivered
    // B loses its copy (rows removed directly: the fetch must not find anything local).
    b.db.prepare('DELETE FROM shares WHERE share_id = ?').run(shareId)
    b.db.prepare('DELETE FROM records WHERE data_hash = ?').run(dataHash)
    expect(b.p2p.recordInfo(dataHash)).toBeUndefined()

    const fetched = await b.p2p.getRecord(dataHash)
    expect(fetched).toMatchObject({ source: a.p2p.peerId, data })
    expect(b.p2p.recordInfo(dataHash)?.sizeBytes).toBe(data.byteLength)
    expect((await b.p2p.getRecord(dataHash)).source).toBe('local')

    const refused = nextEvent<Refused>(a.p2p, 'refused', (r) => r.peerId === d.p2p.peerId)
    await expect(d.p2p.getRecord(dataHash)).rejects.toHaveProperty('name', 'RecordNotFoundError')
    expect((await refused).error).toBe('RecordNotFoundError')
    expect(await createDataService(d.p2p).getByHash(dataHash)).toBeUndefined()
    expect((await createDataService(b.p2p).getByHash(dataHash))?.data).toEqual(data)
  })

  it('measures latency and health by ping and reports network stats', async () => {
    await waitFor('a health round to find B healthy', () =>
      a.p2p.peers({ healthy: true }).some((p) => p.peerId === b.p2p.peerId)
    )
    const healthy = a.p2p.peers({ healthy: true })
    expect(healthy.map((p) => p.peerId)).toContain(b.p2p.peerId)
    expect(healthy.find((p) => p.peerId === b.p2p.peerId)?.latencyMs).toBeGreaterThanOrEqual(0)
    const stats = a.p2p.stats()
    expect(stats).toMatchObject({ peerId: a.p2p.peerId })
    expect(stats.healthyPeers).toBeGreaterThanOrEqual(1)
    expect(stats.connectedPeers).toBeGreaterThanOrEqual(2)
    expect(stats.messagesOut).toBeGreaterThan(0)
    expect(stats.bytesOut).toBeGreaterThan(1024)
    expect(stats.shares['out:delivered']).toBe(2)
    const network = createNetworkService(a.p2p)
    expect(await network.stats()).toMatchObject({ listenAddresses: a.p2p.multiaddrs, bootstrapPeers: 0 })
    const peerB = (await network.peers({ healthy: true })).find((p) => p.peerId === b.p2p.peerId)
    expect(peerB?.successRate).toBeGreaterThan(0)
    expect((await network.deny(d.p2p.peerId)).status).toBe('denied')
    expect((await network.allow(d.p2p.peerId)).status).toBe('active')
  })

  it('refuses the maximum tier without an attestation verifier with AttestationNotConfiguredError', () => {
    expect(() =>
      a.p2p.shareData({ data: new Uint8Array(1), recipient: b.p2p.peerId, tier: 'maximum' })
    ).toThrow(expect.objectContaining({ name: 'AttestationNotConfiguredError' }))
  })

  it('marks a share failed after its expiry, with the last error', async () => {
    const e = await startNode(dirs[3]!.path, { shareExpiryMs: 400, retryBaseMs: 20, retryMaxMs: 100 })
    nodes.push(e)
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const final = nextEvent<P2pEvents['share:attempt-failed'][0]>(
      e.p2p,
      'share:attempt-failed',
      (f) => f.final
    )
    const { shareId } = e.p2p.shareData({ data: new Uint8Array([9]), recipient: nobody })
    expect((await final).share.shareId).toBe(shareId)
    const failed = e.p2p.getShare(shareId)
    expect(failed.state).toBe('failed')
    expect(failed.lastError).toMatch(/\S/)
    expect(failed.attempts).toBeGreaterThanOrEqual(2)
    expect(e.p2p.stats().shares['out:failed']).toBe(1)

    // A share to an address nobody is known by fails unresolved at its expiry, saying so.
    const unresolvedFinal = nextEvent<P2pEvents['share:attempt-failed'][0]>(
      e.p2p,
      'share:attempt-failed',
      (f) => f.final && f.share.state === 'failed' && f.share.recipient.startsWith('0x')
    )
    const waiting = e.p2p.shareData({ data: new Uint8Array([8]), recipient: `0x${'3'.repeat(40)}` })
    expect(waiting.state).toBe('unresolved')
    expect((await unresolvedFinal).share.shareId).toBe(waiting.shareId)
    expect(e.p2p.getShare(waiting.shareId)).toMatchObject({
      state: 'failed',
      recipient: `0x${'3'.repeat(40)}`,
      attempts: 0,
      lastError: expect.stringMatching(/^expired unresolved: RecipientNotRegisteredError: /)
    })
  })

  it('resolves a waiting address once a peer whose certificate binds it connects, and delivers', async () => {
    const G_ETH = `0x${'6'.repeat(39)}9`
    const waiting = a.p2p.shareData({ data: new TextEncoder().encode('for G, once met'), recipient: G_ETH })
    expect(waiting.state).toBe('unresolved')
    const delivered = nextEvent<Delivered>(
      a.p2p,
      'share:delivered',
      (e) => e.share.shareId === waiting.shareId
    )
    const resolved = nextEvent<P2pEvents['share:resolved'][0]>(a.p2p, 'share:resolved')
    const g = await startNode(dirs[4]!.path, { ethAddress: G_ETH })
    nodes.push(g)
    await g.p2p.connect(a.p2p.multiaddrs[0]!)
    expect(await resolved).toMatchObject({
      via: 'peer-book',
      share: { shareId: waiting.shareId, recipient: g.p2p.peerId }
    })
    expect((await delivered).share).toMatchObject({
      state: 'delivered',
      recipient: g.p2p.peerId,
      recipientLabel: G_ETH
    })
    expect(g.p2p.getShare(waiting.shareId)).toMatchObject({ direction: 'in', state: 'received' })
  })
})
