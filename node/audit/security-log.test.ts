import { afterEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from '../store/database.ts'
import { auditRepositories } from '../store/audit-repositories.ts'
import { migrate } from '../store/migrations.ts'
import { SecurityLogRepository } from '../store/security-log.ts'
import { canonicalDetail, rowHash, SecurityLog } from './security-log.ts'

let db: Db
afterEach(() => db?.close())
function fresh(): SecurityLog {
  db = openDatabase(':memory:')
  migrate(db)
  return new SecurityLog(new SecurityLogRepository(db))
}

describe('security log', () => {
  it('chains each row to the previous one from a zero genesis hash', () => {
    const log = fresh()
    const a = log.append('auth.success', { keyId: 'k1' })
    const b = log.append('auth.failure', { keyId: 'k2', ip: '10.0.0.1' })
    expect(a.prev_hash).toBe('0'.repeat(64))
    expect(b.prev_hash).toBe(a.hash)
    expect(b.hash).toBe(rowHash(2, b.at, 'auth.failure', '{"ip":"10.0.0.1","keyId":"k2"}', a.hash))
    expect(log.verifyChain()).toEqual({ ok: true, rows: 2, head: { seq: 2, hash: b.hash }, firstBad: null })
  })

  it('stores details as canonical JSON with secret-looking fields redacted', () => {
    expect(canonicalDetail({ b: 1, a: { password: 'x', z: [2] }, apiKey: 'k' })).toBe(
      '{"a":{"password":"[redacted]","z":[2]},"apiKey":"[redacted]","b":1}'
    )
  })

  it('names the first row whose content was changed', () => {
    const log = fresh()
    for (let i = 0; i < 5; i++) log.append('rate_limit.hit', { n: i })
    db.prepare(`UPDATE security_log SET detail = '{"n":9}' WHERE seq = 4`).run()
    expect(log.verifyChain()).toMatchObject({ ok: false, firstBad: { seq: 4 } })
  })

  it('names the row after a deleted one, and a rewritten hash by its broken link', () => {
    const log = fresh()
    for (let i = 0; i < 5; i++) log.append('key.rotated', { version: i })
    db.prepare('DELETE FROM security_log WHERE seq = 2').run()
    expect(log.verifyChain()).toMatchObject({ ok: false, firstBad: { seq: 3 } })

    const other = fresh()
    for (let i = 0; i < 4; i++) other.append('config.changed', { i })
    const row = db.prepare('SELECT * FROM security_log WHERE seq = 2').get() as {
      at: string
      prev_hash: string
    }
    const forged = rowHash(2, row.at, 'config.changed', '{"i":7}', row.prev_hash)
    db.prepare(`UPDATE security_log SET detail = '{"i":7}', hash = ? WHERE seq = 2`).run(forged)
    expect(other.verifyChain()).toMatchObject({ ok: false, firstBad: { seq: 3 } })
  })

  it('refuses unknown kinds with InvalidAuditEventError', () => {
    const log = fresh()
    expect(() => log.append('made.up' as never, {})).toThrow(
      expect.objectContaining({ name: 'InvalidAuditEventError' })
    )
  })

  it('prepares an anchor only when the head moved', () => {
    const log = fresh()
    expect(log.prepareAnchor()).toBeNull()
    const row = log.append('node.started')
    expect(log.prepareAnchor()).toEqual({ seq: 1, head: row.hash })
    expect(log.prepareAnchor()).toBeNull()
  })
})

describe('config changes', () => {
  it('logs config.changed with the changed paths when the effective config differs from the last start', async () => {
    const { recordConfigChanges } = await import('./config-changes.ts')
    const log = fresh()
    expect(
      recordConfigChanges(auditRepositories(db), log, { chain: { mode: 'per-share' }, p2p: { port: 4001 } })
    ).toEqual([])
    expect(
      recordConfigChanges(auditRepositories(db), log, { chain: { mode: 'per-share' }, p2p: { port: 4001 } })
    ).toEqual([])
    expect(log.list()).toEqual([])
    expect(
      recordConfigChanges(auditRepositories(db), log, { chain: { mode: 'batch' }, p2p: { port: 4001 }, x: 1 })
    ).toEqual(['chain.mode', 'x'])
    const [row] = log.list()
    expect(row).toMatchObject({ seq: 1, kind: 'config.changed', detail: '{"paths":["chain.mode","x"]}' })
  })
})
