import { describe, expect, it } from 'vitest'
import { announcedLimitsOf, PeerPacing } from './peer-pacing.ts'

const LIMITS = { messagesPerSecond: 10, bytesPerSecond: 1_000, concurrentStreams: 4 }

function pacing() {
  const clock = { t: 0 }
  return { clock, pacing: new PeerPacing({ now: () => clock.t }) }
}

describe('peer pacing', () => {
  it('paces nothing for a peer that announced no limits', () => {
    const { pacing: p } = pacing()
    for (let i = 0; i < 100; i++) expect(p.acquire('peer')).toBe(0)
    expect(p.chargeBytes('peer', 10_000_000)).toBe(0)
  })

  it('admits at most 90 % of the announced message rate and says when the next one fits', () => {
    const { clock, pacing: p } = pacing()
    p.learn('peer', LIMITS)
    let admitted = 0
    // Ten seconds of steady demand, streams released at once.
    for (clock.t = 0; clock.t < 10_000; clock.t += 10) {
      if (p.acquire('peer') === 0) {
        admitted += 1
        p.release('peer')
      }
    }
    // Half a bucket to start with, then 9 per second.
    expect(admitted).toBeGreaterThanOrEqual(90)
    expect(admitted).toBeLessThanOrEqual(95)
    while (p.acquire('peer') === 0) p.release('peer')
    const wait = p.acquire('peer')
    expect(wait).toBeGreaterThan(0)
    expect(wait).toBeLessThanOrEqual(Math.ceil(1000 / 9))
    clock.t += wait
    expect(p.acquire('peer')).toBe(0)
  })

  it('keeps all but one of the announced streams in flight at the most', () => {
    const { clock, pacing: p } = pacing()
    p.learn('peer', { ...LIMITS, messagesPerSecond: 1_000 })
    clock.t = 5_000
    expect(p.acquire('peer')).toBe(0)
    expect(p.acquire('peer')).toBe(0)
    expect(p.acquire('peer')).toBe(0)
    expect(p.acquire('peer')).toBe(Number.POSITIVE_INFINITY)
    p.release('peer')
    expect(p.acquire('peer')).toBe(0)
  })

  it('charges envelope bytes and admits one larger than the budget once the budget is full', () => {
    const { clock, pacing: p } = pacing()
    p.learn('peer', LIMITS)
    clock.t = 5_000
    expect(p.chargeBytes('peer', 800)).toBe(0)
    const wait = p.chargeBytes('peer', 800)
    expect(wait).toBeGreaterThan(0)
    clock.t += wait
    expect(p.chargeBytes('peer', 800)).toBe(0)
    clock.t += 10_000
    expect(p.chargeBytes('peer', 50_000)).toBe(0)
  })

  it('reads only well-formed announced limits', () => {
    expect(announcedLimitsOf(LIMITS)).toEqual(LIMITS)
    expect(announcedLimitsOf({ ...LIMITS, messagesPerSecond: -1 })).toBeUndefined()
    expect(announcedLimitsOf({ ...LIMITS, bytesPerSecond: 'many' })).toBeUndefined()
    expect(announcedLimitsOf({ ...LIMITS, concurrentStreams: Number.POSITIVE_INFINITY })).toBeUndefined()
    expect(announcedLimitsOf(null)).toBeUndefined()
  })
})
