import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EVIDENCE_PROTOCOL,
  MAX_CONTROL_FRAME_BYTES,
  MAX_FRAME_BYTES,
  type P2pEvents,
  RemoteRefusalError
} from '../../node/p2p/index.ts'
import { decodeMessage, encodeMessage, frameStream } from '../../node/p2p/framing.ts'
import { nextEvent, startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

type Delivered = P2pEvents['share:delivered'][0]

/**
 * `/dmn/evidence/1.0.0` on three libp2p nodes: A sent a share to B. A answers B with what its
 * evidence port gives for that share, and refuses by name C, an unknown share id, a share not yet
 * on chain and a request over the control frame limit.
 */
describe('the evidence protocol', () => {
  const dirs = [tempDir('a'), tempDir('b'), tempDir('c')]
  const nodes: TestNode[] = []
  const asked: string[] = []
  // Shares whose record the fake audit trail holds as confirmed; others are not on chain yet.
  const onChain = new Set<string>()
  let a: TestNode
  let b: TestNode
  let c: TestNode

  beforeAll(async () => {
    ;[a, b, c] = await Promise.all([
      startNode(dirs[0]!.path, {
        evidence: {
          evidenceOf: async (shareId, requester) => {
            asked.push(`${shareId} ${requester}`)
            return onChain.has(shareId) ? { shareId, for: requester } : undefined
          }
        }
      }),
      startNode(dirs[1]!.path),
      startNode(dirs[2]!.path)
    ])
    nodes.push(a, b, c)
    await a.p2p.connect(b.p2p.multiaddrs[0]!)
    await c.p2p.connect(a.p2p.multiaddrs[0]!)
    await waitFor('A to verify B', () =>
      a.p2p.peers().some((p) => p.peerId === b.p2p.peerId && p.trust !== 'unknown')
    )
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    for (const dir of dirs) dir.remove()
  })

  const notReadyCount = () =>
    a.p2p
      .refusalCounts()
      .sent.filter((r) => r.protocol === EVIDENCE_PROTOCOL && r.error === 'EvidenceNotReadyError')
      .reduce((sum, r) => sum + r.count, 0)

  const refusalOf = (asker: TestNode, shareId: string) =>
    asker.p2p.askEvidence(a.p2p.peerId, shareId).then(
      (entry) => ({ entry }),
      (err: unknown) => (err instanceof RemoteRefusalError ? err.refusal : `not a refusal: ${String(err)}`)
    )

  it("answers the share's recipient with its evidence, and nobody else", async () => {
    const delivered = nextEvent<Delivered>(a.p2p, 'share:delivered')
    const { shareId } = a.p2p.shareData({ data: new Uint8Array([7, 7, 7]), recipient: b.p2p.peerId })
    await delivered
    const refused: string[] = []
    const onRefused = ({ error }: P2pEvents['refused'][0]) => refused.push(error)
    a.p2p.on('refused', onRefused)
    const notReadyBefore = notReadyCount()
    expect(await refusalOf(b, shareId)).toBe('EvidenceNotReadyError')
    // "Not on chain yet" answers the recipient; it refuses nobody: counted, but no refusal event.
    expect(notReadyCount()).toBe(notReadyBefore + 1)
    expect(refused).not.toContain('EvidenceNotReadyError')
    onChain.add(shareId)
    expect(await refusalOf(b, shareId)).toEqual({ entry: { shareId, for: b.p2p.peerId } })
    // A peer that is not the recipient, and a share id A never sent, get the same refusal.
    expect(await refusalOf(c, shareId)).toBe('NotShareRecipientError')
    expect(await refusalOf(b, 'e'.repeat(32))).toBe('NotShareRecipientError')
    // The port was asked only for the recipient's requests; the others were refusals.
    expect(asked).toEqual([`${shareId} ${b.p2p.peerId}`, `${shareId} ${b.p2p.peerId}`])
    const notRecipient = () => refused.filter((e) => e === 'NotShareRecipientError').length
    await waitFor('the refusals reported', () => notRecipient() === 2)
    expect(refused).not.toContain('EvidenceNotReadyError')
    a.p2p.off('refused', onRefused)
  })

  it('refuses a request that is not one, or larger than a control frame', async () => {
    const ask = async (request: Uint8Array) => {
      const stream = await b.p2p.libp2p.dialProtocol(peerIdFromString(a.p2p.peerId), EVIDENCE_PROTOCOL)
      // A frame as large as any protocol's, so only the server's own limit can refuse it.
      const frames = frameStream(stream, MAX_FRAME_BYTES)
      const signal = AbortSignal.timeout(20_000)
      await frames.write(request, { signal })
      const answer = decodeMessage(await frames.read({ signal }))
      await stream.close({ signal }).catch(() => {})
      return answer['error']
    }
    expect(await ask(encodeMessage({ shareId: 'not a share id' }))).toBe('FrameMalformedError')
    const big = encodeMessage({ shareId: 'a'.repeat(32), pad: 'x'.repeat(MAX_CONTROL_FRAME_BYTES) })
    expect(await ask(big)).toBe('FrameTooLargeError')
  })
})
