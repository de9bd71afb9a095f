import { describe, expect, it } from 'vitest'
import { InboundLimits } from './limits.ts'

function limits(now: { t: number }) {
  return new InboundLimits({
    messagesPerSecond: 2,
    bytesPerSecond: 100,
    concurrentStreams: 2,
    now: () => now.t
  })
}

describe('inbound limits', () => {
  it('refuses messages over the per-second budget and refills with time', () => {
    const clock = { t: 0 }
    const l = limits(clock)
    l.openStream('p')()
    l.openStream('p')()
    expect(() => l.openStream('p')).toThrow(expect.objectContaining({ name: 'RateLimitedError' }))
    clock.t = 500
    expect(() => l.openStream('p')()).not.toThrow()
  })

  it('refuses a third concurrent stream until one is released', () => {
    const clock = { t: 0 }
    const l = new InboundLimits({
      messagesPerSecond: 100,
      bytesPerSecond: 100,
      concurrentStreams: 2,
      now: () => clock.t
    })
    const r1 = l.openStream('p')
    l.openStream('p')
    expect(() => l.openStream('p')).toThrow(expect.objectContaining({ name: 'RateLimitedError' }))
    r1()
    r1()
    expect(() => l.openStream('p')).not.toThrow()
  })

  it('charges bytes per peer without affecting other peers', () => {
    const clock = { t: 0 }
    const l = limits(clock)
    l.chargeBytes('p', 60)
    expect(() => l.chargeBytes('p', 60)).toThrow(expect.objectContaining({ name: 'RateLimitedError' }))
    expect(() => l.chargeBytes('q', 60)).not.toThrow()
  })

  it('lets one frame larger than a second of budget through a quiet peer', () => {
    const l = limits({ t: 0 })
    expect(() => l.chargeBytes('p', 500)).not.toThrow()
    expect(() => l.chargeBytes('p', 1)).toThrow(expect.objectContaining({ name: 'RateLimitedError' }))
  })
})

describe('inbound limits below one message per second', () => {
  it('admits one message, then refuses until the slow refill completes', () => {
    const clock = { t: 0 }
    const l = new InboundLimits({
      messagesPerSecond: 0.01,
      bytesPerSecond: 100,
      concurrentStreams: 2,
      now: () => clock.t
    })
    l.openStream('p')()
    expect(() => l.openStream('p')).toThrow(expect.objectContaining({ name: 'RateLimitedError' }))
    clock.t = 100_000
    expect(() => l.openStream('p')()).not.toThrow()
  })
})

describe('retry-after hints of the inbound limits', () => {
  it('tells a peer over its message rate when the next message is admitted', () => {
    const clock = { t: 0 }
    const l = limits(clock)
    l.openStream('p')()
    l.openStream('p')()
    clock.t = 100
    // 0.2 of a message refilled at 2 per second: 0.8 more take 400 ms, and then the peer is admitted.
    expect(() => l.openStream('p')).toThrow(expect.objectContaining({ retryAfterMs: 400 }))
    clock.t = 500
    expect(() => l.openStream('p')()).not.toThrow()
  })

  it('tells a peer over its byte rate when the frame fits the refilled bucket', () => {
    const clock = { t: 0 }
    const l = limits(clock)
    l.chargeBytes('p', 80)
    expect(() => l.chargeBytes('p', 50)).toThrow(expect.objectContaining({ retryAfterMs: 300 }))
    clock.t = 300
    expect(() => l.chargeBytes('p', 50)).not.toThrow()
  })

  it('gives no hint for too many concurrent streams', () => {
    const l = limits({ t: 0 })
    l.openStream('p')
    l.openStream('p')
    expect(() => l.openStream('p')).toThrow(
      expect.objectContaining({ name: 'RateLimitedError', retryAfterMs: undefined })
    )
  })
})
