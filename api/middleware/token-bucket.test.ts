import { describe, expect, it } from 'vitest'
import { TokenBucketLimiter } from './token-bucket.ts'

describe('TokenBucketLimiter', () => {
  it('allows a burst, refuses the next, and refills at the configured rate', () => {
    let now = 0
    const limiter = new TokenBucketLimiter({ perSecond: 10, burst: 20, now: () => now })
    for (let i = 0; i < 20; i++) expect(limiter.take('a').allowed).toBe(true)
    const refused = limiter.take('a')
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 0.1 })
    now += 100 // one token at 10/s
    expect(limiter.take('a').allowed).toBe(true)
    expect(limiter.take('a').allowed).toBe(false)
    now += 1000
    let allowed = 0
    while (limiter.take('a').allowed) allowed++
    expect(allowed).toBe(10)
  })

  it('never refills beyond the burst', () => {
    let now = 0
    const limiter = new TokenBucketLimiter({ perSecond: 5, burst: 3, now: () => now })
    now += 60_000
    let allowed = 0
    while (limiter.take('a').allowed) allowed++
    expect(allowed).toBe(3)
  })

  it('keeps clients apart', () => {
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1, now: () => 0 })
    expect(limiter.take('a').allowed).toBe(true)
    expect(limiter.take('a').allowed).toBe(false)
    expect(limiter.take('b').allowed).toBe(true)
  })

  it('holds at most maxKeys buckets however many clients appear, dropping the least recently used', () => {
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1, maxKeys: 100, now: () => 0 })
    limiter.take('kept')
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`client-${i}`)
      if (i % 50 === 0) limiter.take('kept')
    }
    expect(limiter.size).toBe(100)
    // 'kept' was used recently, so its empty bucket is still there.
    expect(limiter.take('kept').allowed).toBe(false)
  })

  it('refuses nonsense settings', () => {
    expect(() => new TokenBucketLimiter({ perSecond: 0, burst: 1 })).toThrow(RangeError)
    expect(() => new TokenBucketLimiter({ perSecond: 1, burst: 0.5 })).toThrow(RangeError)
  })
})
