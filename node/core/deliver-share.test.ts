import { describe, expect, it } from 'vitest'
import { backoffMs, isExpired, RecipientPauses, retryPlan } from './deliver-share.ts'
import { RemoteRefusalError } from './share-errors.ts'
import { ManualClock } from './test-support/in-memory-share-ports.ts'

const settings = { retryBaseMs: 100, retryMaxMs: 10_000, random: () => 1 }

describe('delivery decisions', () => {
  it('backs off exponentially within half and the full capped delay', () => {
    expect(backoffMs(1, 100, 10_000, () => 0)).toBe(50)
    expect(backoffMs(1, 100, 10_000, () => 1)).toBe(100)
    expect(backoffMs(4, 100, 10_000, () => 1)).toBe(800)
    expect(backoffMs(30, 100, 10_000, () => 1)).toBe(10_000)
    expect(backoffMs(30, 100, 10_000, () => 0)).toBe(5_000)
  })

  it('honours a rate-limit hint up to retryMax and pauses the recipient', () => {
    const share = { attempts: 0, expiresMs: 1_000_000 }
    const short = retryPlan(
      share,
      new RemoteRefusalError('RateLimitedError', 'slow', { retryAfterMs: 3000 }),
      { nowMs: 0, stopping: false },
      settings
    )
    expect(short).toMatchObject({ final: false, nextAttemptMs: 3000, pauseRecipient: true })
    const hostile = retryPlan(
      share,
      new RemoteRefusalError('RateLimitedError', 'slow', { retryAfterMs: 1e9 }),
      { nowMs: 0, stopping: false },
      settings
    )
    expect(hostile.nextAttemptMs).toBe(10_000)
    const other = retryPlan(
      share,
      new RemoteRefusalError('ReplayedNonceError', 'x'),
      { nowMs: 0, stopping: false },
      settings
    )
    expect(other).toMatchObject({ nextAttemptMs: 100, pauseRecipient: false })
    expect(other.lastError.startsWith('ReplayedNonceError: ')).toBe(true)
  })

  it('fails a share at its expiry, never before, and retries at once when stopping', () => {
    expect(
      retryPlan({ attempts: 3, expiresMs: 500 }, new Error('x'), { nowMs: 450, stopping: false }, settings)
    ).toMatchObject({ final: false, nextAttemptMs: 500 })
    expect(
      retryPlan({ attempts: 3, expiresMs: 500 }, new Error('x'), { nowMs: 500, stopping: false }, settings)
        .final
    ).toBe(true)
    expect(
      retryPlan({ attempts: 3, expiresMs: 500 }, new Error('x'), { nowMs: 600, stopping: true }, settings)
    ).toMatchObject({ final: false, nextAttemptMs: 600 })
    expect(isExpired({ expiresMs: 500 }, 500)).toBe(false)
    expect(isExpired({ expiresMs: 500 }, 501)).toBe(true)
    expect(isExpired({ expiresMs: null }, 1e15)).toBe(false)
  })

  it('keeps a recipient paused until the longest pause ends', () => {
    const clock = new ManualClock(0)
    const pauses = new RecipientPauses(clock)
    pauses.pause('bob', 2000)
    pauses.pause('bob', 1000)
    expect(pauses.pausedUntil('bob')).toBe(2000)
    clock.ms = 2000
    expect(pauses.pausedUntil('bob')).toBeUndefined()
  })
})
