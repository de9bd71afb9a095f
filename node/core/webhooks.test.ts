import { describe, expect, it } from 'vitest'
import {
  afterFailure,
  backoffDelayMs,
  canonicalIp,
  eventTypesProblem,
  isLoopbackOrUnspecified,
  reachesOwnApi,
  unmapIpv4,
  webhookBody,
  webhookMessageId
} from './webhooks.ts'

const policy = { baseMs: 1_000, capMs: 60_000, windowMs: 3_600_000 }

describe('backoff with full jitter', () => {
  it('draws under a ceiling that doubles from the base per attempt', () => {
    const top = () => 0.999_999
    expect(backoffDelayMs(1, policy, top)).toBe(999)
    expect(backoffDelayMs(2, policy, top)).toBe(1_999)
    expect(backoffDelayMs(4, policy, top)).toBe(7_999)
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0)
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(2_000)
  })

  it('never exceeds the cap, however many attempts failed', () => {
    expect(backoffDelayMs(7, policy, () => 0.999_999)).toBe(59_999)
    expect(backoffDelayMs(10_000, policy, () => 0.999_999)).toBe(59_999)
  })
})

describe('after a failed attempt', () => {
  it('starts the retry window at the first failure and schedules the next attempt', () => {
    const out = afterFailure({ attempts: 0, failingSince: null }, 10_000, policy, () => 0.5)
    expect(out).toEqual({ kind: 'retry', attempts: 1, failingSince: 10_000, nextAttemptAt: 10_500 })
  })

  it('keeps the first failure time while the event keeps failing', () => {
    const out = afterFailure({ attempts: 3, failingSince: 10_000 }, 50_000, policy, () => 0.5)
    expect(out).toEqual({ kind: 'retry', attempts: 4, failingSince: 10_000, nextAttemptAt: 54_000 })
  })

  it('holds the last retry to the end of the window', () => {
    const out = afterFailure({ attempts: 20, failingSince: 0 }, 3_590_000, policy, () => 0.999)
    expect(out).toMatchObject({ kind: 'retry', nextAttemptAt: 3_600_000 })
  })

  it('fails the subscription once the window from the first failure has passed', () => {
    expect(afterFailure({ attempts: 20, failingSince: 0 }, 3_600_000, policy, () => 0.5)).toEqual({
      kind: 'failed',
      attempts: 21,
      failingSince: 0
    })
  })

  it('fails at once with a zero window', () => {
    const out = afterFailure({ attempts: 0, failingSince: null }, 5, { ...policy, windowMs: 0 }, () => 0.5)
    expect(out.kind).toBe('failed')
  })
})

describe('the message', () => {
  it('has one id per event and the same body for every attempt', () => {
    const event = {
      id: 42,
      type: 'share.delivered',
      at: Date.UTC(2026, 11, 3, 10, 0, 0),
      data: { share_id: 'ab' }
    }
    expect(webhookMessageId(42)).toBe('evt_42')
    expect(webhookBody(event)).toBe(
      '{"type":"share.delivered","timestamp":"2026-12-03T10:00:00.000Z","data":{"share_id":"ab"}}'
    )
    expect(webhookBody({ ...event, data: { share_id: 'ab' } })).toBe(webhookBody(event))
  })
})

describe('event filters', () => {
  it('takes type prefixes and refuses anything else', () => {
    expect(eventTypesProblem([])).toBeUndefined()
    expect(eventTypesProblem(['share.', 'audit.confirmed'])).toBeUndefined()
    expect(eventTypesProblem(['Share'])).toMatch(/event type/)
    expect(eventTypesProblem([''])).toMatch(/event type/)
    expect(eventTypesProblem(Array.from({ length: 33 }, () => 'a'))).toMatch(/at most/)
  })
})

describe('addresses of the node itself', () => {
  it('knows loopback and unspecified addresses in every spelling', () => {
    for (const a of [
      '127.0.0.1',
      '127.8.9.10',
      '0.0.0.0',
      '::1',
      '::',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1'
    ]) {
      expect(isLoopbackOrUnspecified(a), a).toBe(true)
    }
    for (const a of ['10.0.0.1', '128.0.0.1', '::2', 'fe80::1', '::ffff:10.0.0.1', 'example.org']) {
      expect(isLoopbackOrUnspecified(a), a).toBe(false)
    }
  })

  it('unmaps IPv4-mapped IPv6 addresses and spells IPv6 one way', () => {
    expect(unmapIpv4('::FFFF:10.1.2.3')).toBe('10.1.2.3')
    expect(unmapIpv4('::ffff:a01:203')).toBe('10.1.2.3')
    expect(canonicalIp('FE80:0:0::0001')).toBe(canonicalIp('fe80::1'))
  })

  it('refuses the API ports on loopback and local addresses, and nothing else', () => {
    const own = { ports: [8080, 8081], localAddresses: ['192.168.1.20', 'fe80::1%eth0', 'fe80::1'] }
    expect(reachesOwnApi(['127.0.0.1'], 8080, own)).toBe(true)
    expect(reachesOwnApi(['::1'], 8081, own)).toBe(true)
    expect(reachesOwnApi(['0.0.0.0'], 8081, own)).toBe(true)
    expect(reachesOwnApi(['203.0.113.9', '192.168.1.20'], 8081, own)).toBe(true)
    expect(reachesOwnApi(['fe80:0::1'], 8080, own)).toBe(true)
    // Another program's port on loopback, and another machine at the API's port.
    expect(reachesOwnApi(['127.0.0.1'], 9000, own)).toBe(false)
    expect(reachesOwnApi(['203.0.113.9'], 8080, own)).toBe(false)
  })
})
