import { describe, expect, it } from 'vitest'
import type { HealthProbe } from '../node/core/ports.ts'
import { checkHealth, createHealthCheck } from './health.ts'

const probe = (name: string, check: HealthProbe['check']): HealthProbe => ({ name, check })

describe('health', () => {
  it('is unhealthy when the database is down, degraded when another component is', async () => {
    const up = probe('p2p', async () => ({ status: 'up' }))
    const dbDown = probe('database', async () => ({ status: 'down' }))
    const chainDown = probe('chain', async () => {
      throw new Error('connection refused to 10.0.0.1')
    })
    expect((await checkHealth([up, dbDown])).status).toBe('unhealthy')
    const degraded = await checkHealth([up, chainDown])
    expect(degraded.status).toBe('degraded')
    // The failure is named, its message (with internals) is not passed on.
    expect(degraded.components['chain']).toEqual({ status: 'down', detail: { error: 'Error' } })
  })

  it('reuses a report for the TTL and runs one check at a time', async () => {
    let calls = 0
    let now = 0
    const check = createHealthCheck(
      [
        probe('database', async () => {
          calls++
          return { status: 'up' }
        })
      ],
      { ttlMs: 1000, now: () => now }
    )
    await Promise.all([check(), check(), check()])
    expect(calls).toBe(1)
    now = 999
    await check()
    expect(calls).toBe(1)
    now = 1000
    await check()
    expect(calls).toBe(2)
  })

  it('offers the report in hand without waiting while it is fresh, and none once a check is due', async () => {
    let now = 0
    let status: 'up' | 'down' = 'up'
    const check = createHealthCheck([probe('database', async () => ({ status }))], {
      ttlMs: 1000,
      now: () => now
    })
    expect(check.fresh()).toBeUndefined()
    const first = await check()
    expect(check.fresh()).toBe(first)
    status = 'down'
    now = 999
    expect(check.fresh()?.status).toBe('healthy')
    now = 1000
    expect(check.fresh()).toBeUndefined()
    expect((await check()).status).toBe('unhealthy')
    expect(check.fresh()?.status).toBe('unhealthy')
  })
})
