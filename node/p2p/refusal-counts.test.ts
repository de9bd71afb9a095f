import { describe, expect, it } from 'vitest'
import { RefusalCounts } from './refusal-counts.ts'

describe('refusal counts', () => {
  it('counts refusals sent and received by protocol and error name', () => {
    const counts = new RefusalCounts()
    counts.countSent('/dmn/share/1.0.0', 'RateLimitedError')
    counts.countSent('/dmn/share/1.0.0', 'RateLimitedError')
    counts.countSent('connection', 'PeerDeniedError')
    counts.countReceived('/dmn/share/1.0.0', 'ReplayedNonceError')
    expect(counts.snapshot()).toEqual({
      sent: [
        { protocol: '/dmn/share/1.0.0', error: 'RateLimitedError', count: 2 },
        { protocol: 'connection', error: 'PeerDeniedError', count: 1 }
      ],
      received: [{ protocol: '/dmn/share/1.0.0', error: 'ReplayedNonceError', count: 1 }]
    })
  })

  it("keeps a peer's odd or endless error names from growing the series", () => {
    const counts = new RefusalCounts()
    counts.countReceived('/dmn/share/1.0.0', 'not a name"}\n')
    for (let i = 0; i < 1000; i++) counts.countReceived('/dmn/share/1.0.0', `Made${i}Error`)
    const received = counts.snapshot().received
    expect(received.length).toBeLessThanOrEqual(201)
    const other = received.find((s) => s.error === 'Other')
    expect(other?.count).toBe(1 + 1000 - (received.length - 1))
    expect(received.reduce((n, s) => n + s.count, 0)).toBe(1001)
  })
})
