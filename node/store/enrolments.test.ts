import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { type Enrolment, EnrolmentRepository } from './enrolments.ts'
import { migrate } from './migrations.ts'

const A = '12D3KooWA1111111111111111111111111111111111111111111'
const B = '12D3KooWB2222222222222222222222222222222222222222222'
const enrolment = (peerId: string, n: number): Enrolment => ({
  peerId,
  akFingerprint: String(n).repeat(64),
  akPublicPem: `pem ${n}`,
  enrolledAt: `2026-11-2${n}T00:00:00.000Z`
})

let dir: string
let db: Db
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-enrolments-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
})
afterEach(() => {
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('enrolment repository', () => {
  it('keeps one enrolment per peer: a new one replaces the old', () => {
    const enrolments = new EnrolmentRepository(db)
    enrolments.put(enrolment(B, 1))
    enrolments.put(enrolment(A, 2))
    enrolments.put(enrolment(B, 3))
    expect(enrolments.get(B)).toEqual(enrolment(B, 3))
    expect(enrolments.list()).toEqual([enrolment(A, 2), enrolment(B, 3)])
    db.close()
    db = openDatabase(join(dir, 'node.db'))
    expect(new EnrolmentRepository(db).get(A)).toEqual(enrolment(A, 2))
  })

  it('removes an enrolment once and says whether there was one', () => {
    const enrolments = new EnrolmentRepository(db)
    enrolments.put(enrolment(A, 1))
    expect(enrolments.remove(A)).toBe(true)
    expect(enrolments.remove(A)).toBe(false)
    expect(enrolments.get(A)).toBeUndefined()
    expect(enrolments.list()).toEqual([])
  })

  it('refuses a fingerprint that is not 64 characters (the table constraint)', () => {
    const enrolments = new EnrolmentRepository(db)
    expect(() => enrolments.put({ ...enrolment(A, 1), akFingerprint: 'short' })).toThrow(
      expect.objectContaining({ code: 'SQLITE_CONSTRAINT_CHECK' })
    )
    expect(enrolments.get(A)).toBeUndefined()
  })
})
