import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from '../store/database.ts'
import { migrate } from '../store/migrations.ts'
import { RecordRepository } from '../store/records.ts'
import type { KeyRing } from './key-ring.ts'
import { createKeyRing } from './key-ring-open.ts'
import {
  destroyRetiredVersions,
  keyRingStatus,
  type RewrapProgress,
  rewrapRecords,
  setMinimumDecryptionVersion
} from './key-ring-records.ts'
import { generateRsaKeyPair } from './rsa.ts'

let dir: string
let db: Db
let ring: KeyRing
let records: RecordRepository
const insert = (plaintext: Uint8Array, raw = false) => {
  const { keyVersion, token } = ring.encrypt(plaintext)
  const ciphertext = raw ? Buffer.from(token, 'base64url') : Buffer.from(token, 'ascii')
  db.prepare(
    'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, ?, ?, ?, ?)'
  ).run(
    createHash('sha256').update(plaintext).digest('hex'),
    keyVersion,
    ciphertext,
    plaintext.length,
    new Date().toISOString()
  )
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-ring-records-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  const [signing, encryption] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
  ring = await createKeyRing(join(dir, 'keyring.json'), 'pw', { identity: { signing, encryption } })
  records = new RecordRepository(db, ring)
})
afterAll(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('key ring over stored records', () => {
  it('reports how many records each version protects', async () => {
    for (let i = 0; i < 5; i++) insert(randomBytes(20))
    await ring.rotate()
    for (let i = 0; i < 3; i++) insert(randomBytes(20), i === 0)
    const s = keyRingStatus(ring, records)
    expect(s.primaryVersion).toBe(2)
    expect(s.versions.map((v) => [v.version, v.state, v.items])).toEqual([
      [1, 'active', 5],
      [2, 'primary', 3]
    ])
    expect(s.itemsToRewrap).toBe(5)
    expect(s.kdf.iterations).toBe(600_000)
  })

  it('refuses to retire or destroy versions records still use, unless forced', async () => {
    await expect(setMinimumDecryptionVersion(ring, records, 2)).rejects.toMatchObject({
      name: 'KeyVersionInUseError'
    })
    expect(ring.minimumDecryptionVersion).toBe(1)
    await setMinimumDecryptionVersion(ring, records, 2, { force: true })
    expect(ring.minimumDecryptionVersion).toBe(2)
    await expect(destroyRetiredVersions(ring, records)).rejects.toMatchObject({
      name: 'KeyVersionInUseError'
    })
    await expect(setMinimumDecryptionVersion(ring, records, 3, { force: true })).rejects.toMatchObject({
      name: 'KeyRingParameterError'
    })
  })

  it('rewraps to the primary in batches with progress, using retired keys, keeping the stored form', async () => {
    const seen: RewrapProgress[] = []
    const result = await rewrapRecords(ring, records, { batchSize: 2, onProgress: (p) => seen.push(p) })
    expect(result).toMatchObject({ rewrapped: 5, failed: [], primaryVersion: 2 })
    expect(seen.map((p) => p.done)).toEqual([0, 2, 4, 5])
    expect(seen.every((p) => p.total === 5)).toBe(true)
    expect(records.countByKeyVersion()).toEqual(new Map([[2, 8]]))
    const rows = db.prepare('SELECT key_version, ciphertext FROM records').all() as {
      key_version: number
      ciphertext: Buffer
    }[]
    for (const row of rows) {
      const token =
        row.ciphertext[0] === 0x80 ? row.ciphertext.toString('base64url') : row.ciphertext.toString('ascii')
      expect(ring.decrypt(row.key_version, token.padEnd(Math.ceil(token.length / 4) * 4, '='))).toHaveLength(
        20
      )
    }
    expect(rows.filter((r) => r.ciphertext[0] === 0x80)).toHaveLength(1)
    expect(await destroyRetiredVersions(ring, records)).toEqual([1])
    expect(await destroyRetiredVersions(ring, records)).toEqual([])
  })

  it('reports records that do not decrypt and leaves them untouched', async () => {
    await ring.rotate()
    db.prepare("UPDATE records SET ciphertext = CAST('gAAAAgarbage' AS BLOB) WHERE id = 1").run()
    const result = await rewrapRecords(ring, records, { batchSize: 3 })
    expect(result.rewrapped).toBe(7)
    expect(result.failed).toEqual([{ id: 1, keyVersion: 2, error: 'FernetTruncatedTokenError' }])
    expect(records.countByKeyVersion()).toEqual(
      new Map([
        [2, 1],
        [3, 7]
      ])
    )
  })

  it('stops between batches when aborted, and a later run resumes', async () => {
    db.prepare('DELETE FROM records WHERE id = 1').run()
    await ring.rotate()
    const controller = new AbortController()
    await expect(
      rewrapRecords(ring, records, {
        batchSize: 3,
        signal: controller.signal,
        afterBatch: () => controller.abort()
      })
    ).rejects.toMatchObject({ name: 'AbortedError' })
    expect(records.countByKeyVersion()).toEqual(
      new Map([
        [3, 4],
        [4, 3]
      ])
    )
    expect((await rewrapRecords(ring, records)).rewrapped).toBe(4)
  })

  it('writes records as raw token bytes and still reads rows an older version wrote as base64 text', () => {
    const fresh = new Uint8Array(randomBytes(300))
    const row = records.put(fresh, createHash('sha256').update(fresh).digest('hex'))
    const stored = db.prepare('SELECT ciphertext FROM records WHERE id = ?').get(row.id) as {
      ciphertext: Buffer
    }
    expect(stored.ciphertext[0]).toBe(0x80)
    expect(records.read(row.dataHash)).toEqual(fresh)
    const old = new Uint8Array(randomBytes(300))
    insert(old)
    const oldHash = createHash('sha256').update(old).digest('hex')
    const oldRow = db.prepare('SELECT ciphertext FROM records WHERE data_hash = ?').get(oldHash) as {
      ciphertext: Buffer
    }
    expect(oldRow.ciphertext.toString('ascii')).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/)
    expect(records.read(oldHash)).toEqual(old)
  })

  it('lays records of changing sizes out in one buffer, each stored whole, beside raw rows an older version wrote', () => {
    const tokenBytes = (n: number) => 57 + 16 * (Math.floor(n / 16) + 1)
    const written = [1024 * 1024, 10, 300 * 1024, 0, 1024 * 1024 - 1].map((size) => {
      const plaintext = new Uint8Array(randomBytes(size))
      const row = records.put(plaintext, createHash('sha256').update(plaintext).digest('hex'))
      return { plaintext, row }
    })
    for (const { plaintext, row } of written) {
      const stored = db.prepare('SELECT ciphertext FROM records WHERE id = ?').get(row.id) as {
        ciphertext: Buffer
      }
      expect(stored.ciphertext.length).toBe(tokenBytes(plaintext.length))
      expect(Buffer.from(ring.decryptBytes(row.keyVersion, stored.ciphertext)).equals(plaintext)).toBe(true)
      expect(Buffer.from(records.read(row.dataHash) as Uint8Array).equals(plaintext)).toBe(true)
    }
    const old = new Uint8Array(randomBytes(4096))
    insert(old, true)
    expect(records.read(createHash('sha256').update(old).digest('hex'))).toEqual(old)
  })
})
