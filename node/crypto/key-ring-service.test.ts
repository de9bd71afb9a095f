import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import { type Db, openDatabase } from '../store/database.ts'
import { migrate } from '../store/migrations.ts'
import { RecordRepository } from '../store/records.ts'
import { lockKeyRing } from './key-ring-lock.ts'
import { KeyRingService, keyRingPath } from './key-ring-service.ts'

let dir: string
let db: Db
const logger = createLogger({ level: 'silent' })
const service = (password = 'service password') => {
  const ring: KeyRingService = new KeyRingService(
    { records: () => new RecordRepository(db, ring.ring), logger },
    { dataDir: dir, password, pbkdf2Iterations: 600_000, signingKeyBits: 2048, encryptionKeyBits: 2048 }
  )
  return ring
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-ring-service-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
})
afterAll(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('KeyRingService', () => {
  it('creates the ring on first start and opens the same ring afterwards', async () => {
    const first = service()
    await first.start()
    const identity = first.ring.identity
    await first.rotate()
    first.stop()
    const second = service()
    await second.start()
    expect(second.ring.identity).toEqual(identity)
    const status = await second.status()
    expect(status.primaryVersion).toBe(2)
    expect(status.versions.map((v) => v.retired)).toEqual([false, false])
    expect(status.signingKeyId).toMatch(/^[0-9a-f]{64}$/)
    second.stop()
    expect(() => second.ring).toThrow()
  })

  it('reports the primary key version to /health, and fails the probe once stopped', async () => {
    const running = service()
    await running.start()
    const probe = running.healthProbe()
    const before = (await probe.check()).detail?.['primary_version'] as number
    await running.rotate()
    expect(await probe.check()).toEqual({ status: 'up', detail: { primary_version: before + 1 } })
    running.stop()
    await expect(probe.check()).rejects.toThrow()
  })

  it('holds the ring lock while started and releases it at stop', async () => {
    const running = service()
    await running.start()
    expect(() => lockKeyRing(keyRingPath(dir))).toThrow(
      expect.objectContaining({ name: 'KeyRingLockedError' })
    )
    running.stop()
    lockKeyRing(keyRingPath(dir))()
  })

  it('refuses a wrong password, releases the lock and leaves the file as it was', async () => {
    const before = readFileSync(keyRingPath(dir))
    await expect(service('wrong').start()).rejects.toMatchObject({ name: 'KeyRingWrongPasswordError' })
    expect(existsSync(`${keyRingPath(dir)}.lock`)).toBe(false)
    expect(readFileSync(keyRingPath(dir)).equals(before)).toBe(true)
  })

  it('removes temp files an interrupted write left behind', async () => {
    const stale = join(dir, '.keyring.json.0123456789ab.tmp')
    writeFileSync(stale, 'partial')
    const s = service()
    await s.start()
    expect(existsSync(stale)).toBe(false)
    s.stop()
  })
})
