import { describe, expect, it } from 'vitest'
import type { ApiSecurityEventKind } from '../core/ports.ts'
import { summarizingAuthSuccess } from './auth-success-summary.ts'

function recorder() {
  const rows: { kind: ApiSecurityEventKind; detail: Record<string, unknown> }[] = []
  return {
    rows,
    log: {
      append: (kind: ApiSecurityEventKind, detail: Record<string, unknown>) => rows.push({ kind, detail })
    }
  }
}

describe('auth.success summary', () => {
  it('writes one row per key and scope for a window of successes, with their count', () => {
    const { rows, log } = recorder()
    const summary = summarizingAuthSuccess(log, { windowMs: 60_000 })
    for (let i = 0; i < 50; i++)
      summary.append('auth.success', { key_id: 'k1', scope: 'share', client: `10.0.0.${i % 3}` })
    summary.append('auth.success', { key_id: 'k2', scope: 'read', client: '10.0.0.9' })
    expect(rows).toEqual([])
    summary.stop()
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({
      kind: 'auth.success',
      detail: { key_id: 'k1', scope: 'share', count: 50, clients: ['10.0.0.0', '10.0.0.1', '10.0.0.2'] }
    })
    expect(rows[1]).toMatchObject({ detail: { key_id: 'k2', scope: 'read', count: 1 } })
  })

  it('passes failures and every other kind through at once', () => {
    const { rows, log } = recorder()
    const summary = summarizingAuthSuccess(log, { windowMs: 60_000 })
    summary.append('auth.failure', { reason: 'invalid', key_id: null })
    summary.append('rate_limit.hit', { client: '10.0.0.1' })
    expect(rows.map((r) => r.kind)).toEqual(['auth.failure', 'rate_limit.hit'])
    summary.stop()
    expect(rows).toHaveLength(2)
  })

  it('writes the window when it ends', async () => {
    const { rows, log } = recorder()
    const summary = summarizingAuthSuccess(log, { windowMs: 20 })
    summary.append('auth.success', { key_id: 'k1', scope: 'share' })
    const deadline = Date.now() + 5_000
    while (rows.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(rows).toHaveLength(1)
    summary.stop()
    expect(rows).toHaveLength(1)
  })
})
