import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type P2pEvents, SHARE_PROTOCOL } from '../../node/p2p/index.ts'
import { startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

/**
 * Flow control between two real nodes: the recipient announces its per-peer limits in its answers,
 * the sender paces to them, so a burst of shares far above the recipient's limits is delivered
 * whole without one envelope sealed in vain.
 */

type Refused = P2pEvents['refused'][0]

/** The recipient's per-peer limits: far below the sender's 8 deliveries at once. */
const LIMITS = { messagesPerSecond: 10, bytesPerSecond: 64 * 1024 * 1024, concurrentStreams: 4 }
const SHARES = 24

describe('flow control of the share protocol', () => {
  const dirs = [tempDir('paced-recv'), tempDir('paced-send')]
  let recipient: TestNode
  let sender: TestNode
  const refusals: Refused[] = []

  beforeAll(async () => {
    ;[recipient, sender] = await Promise.all([
      startNode(dirs[0]!.path, { limits: LIMITS }),
      startNode(dirs[1]!.path, { deliveryConcurrency: 8, retryBaseMs: 50, retryMaxMs: 2_000 })
    ])
    recipient.p2p.on('refused', (r: Refused) => refusals.push(r))
    await sender.p2p.connect(recipient.p2p.multiaddrs[0]!)
    await waitFor('the certificate exchange', () =>
      Boolean(sender.p2p.peers().find((p) => p.peerId === recipient.p2p.peerId)?.certificatePem)
    )
  })

  afterAll(async () => {
    await Promise.all([recipient, sender].map((n) => n?.stop().catch(() => {})))
    for (const dir of dirs) dir.remove()
  })

  const share = () =>
    sender.p2p.shareData({ data: randomBytes(256), recipient: recipient.p2p.peerId }).shareId
  const delivered = (ids: readonly string[]) =>
    ids.every((id) => sender.p2p.getShare(id).state === 'delivered')

  it('learns the limits from the first answer, then delivers a burst above them with no refusal for rate', async () => {
    const first = share()
    await waitFor('the first share delivered', () => delivered([first]))
    const rateRefusals = () =>
      refusals.filter((r) => r.protocol === SHARE_PROTOCOL && r.error === 'RateLimitedError').length
    expect(rateRefusals()).toBe(0)

    const burst = Array.from({ length: SHARES }, share)
    await waitFor(`${SHARES} shares delivered`, () => delivered(burst), 60_000)
    expect(rateRefusals()).toBe(0)
    expect(
      sender.p2p
        .refusalCounts()
        .received.filter((r) => r.protocol === SHARE_PROTOCOL && r.error === 'RateLimitedError')
    ).toEqual([])
    // Each share was sealed once: none needed a second attempt.
    expect(burst.map((id) => sender.p2p.getShare(id).attempts)).toEqual(burst.map(() => 1))
  })
})
