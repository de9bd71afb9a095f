import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createEventRetention } from './event-retention.ts'
import { EventLogRepository } from './store/event-log.ts'
import { type AuditTestDb, auditTestDb } from './store/test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

describe('event retention', () => {
  it('deletes the events older than the retention when it starts, and keeps the rest', async () => {
    t = auditTestDb()
    const log = new EventLogRepository(t.db)
    const now = 10 * 3_600_000
    const old = log.append('share.accepted', {}, now - 3 * 3_600_000)
    const kept = log.append('share.accepted', {}, now - 3_600_000)
    const retention = createEventRetention(
      { eventLog: () => log, logger: pino({ level: 'silent' }) },
      { retentionMs: 2 * 3_600_000, now: () => now }
    )
    await retention.start()
    await retention.stop()
    expect(log.after(0, 10).map((e) => e.id)).toEqual([kept])
    expect(log.latestId()).toBeGreaterThan(old)
  })
})
