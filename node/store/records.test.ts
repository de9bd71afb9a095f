import { describe, expect, it } from 'vitest'
import { openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { dataHashOf } from '../core/accept-share.ts'
import { type RecordCipher, RecordRepository } from './records.ts'

/** A reversible stand-in for the key ring: the repository's contract is what is tested here. */
const cipher: RecordCipher = {
  encryptBytes: (p) => ({
    keyVersion: 3,
    token: Buffer.concat([Buffer.of(0x80), Buffer.from(p.map((b) => b ^ 0x5a))])
  }),
  decryptBytes: (v, t) => {
    if (v !== 3) throw new Error('unknown version')
    return new Uint8Array(t.subarray(1)).map((b) => b ^ 0x5a)
  },
  decrypt: () => {
    throw new Error('no row of the older form here')
  }
}

describe('record repository', () => {
  it('stores records encrypted with their key version and reads them back', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const records = new RecordRepository(db, cipher)
    const data = new TextEncoder().encode('patient 42: blood type 0+')
    const row = records.put(data, dataHashOf(data))
    expect(row).toMatchObject({ dataHash: dataHashOf(data), keyVersion: 3, sizeBytes: data.byteLength })
    const stored = db.prepare('SELECT ciphertext FROM records').get() as { ciphertext: Buffer }
    expect(Buffer.from(stored.ciphertext).includes(Buffer.from('patient'))).toBe(false)
    expect(records.read(row.dataHash)).toEqual(data)
  })

  it('returns the same row for the same bytes', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const records = new RecordRepository(db, cipher)
    const data = new Uint8Array([1, 2, 3])
    expect(records.put(data, dataHashOf(data)).id).toBe(records.put(data, dataHashOf(data)).id)
    expect(records.read('f'.repeat(64))).toBeUndefined()
  })

  it('counts records per key version and rewraps a batch only where the version did not move', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const records = new RecordRepository(db, cipher)
    const ids = [1, 2, 3].map((n) => records.put(new Uint8Array([n]), dataHashOf(new Uint8Array([n]))).id)
    db.prepare('UPDATE records SET key_version = 1 WHERE id IN (?, ?)').run(ids[0], ids[1])
    expect(records.countByKeyVersion()).toEqual(
      new Map([
        [1, 2],
        [3, 1]
      ])
    )
    expect(records.countBelowKeyVersion(3)).toBe(2)
    expect(records.countNotAtKeyVersion(3)).toBe(2)
    const page = records.listNotAtKeyVersion(3, 0, 1)
    expect(page.map((r) => [r.id, r.keyVersion])).toEqual([[ids[0], 1]])
    expect(Buffer.isBuffer(page[0]?.ciphertext)).toBe(true)
    expect(records.listNotAtKeyVersion(3, ids[0] as number, 10).map((r) => r.id)).toEqual([ids[1]])
    const fresh = Buffer.from('new token')
    // The second change names a version the record is no longer under: it is left alone.
    const moved = records.rewrap(3, [
      { id: ids[0] as number, fromVersion: 1, ciphertext: fresh },
      { id: ids[1] as number, fromVersion: 2, ciphertext: fresh }
    ])
    expect(moved).toBe(1)
    expect(records.countByKeyVersion()).toEqual(
      new Map([
        [1, 1],
        [3, 2]
      ])
    )
    const stored = db.prepare('SELECT ciphertext FROM records WHERE id = ?').get(ids[0]) as {
      ciphertext: Buffer
    }
    expect(stored.ciphertext.equals(fresh)).toBe(true)
  })

  it('lays a cipher’s token pieces out for each insert, whatever the size before it', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const inPieces: RecordCipher = {
      ...cipher,
      encryptPieces: (p) => {
        const { keyVersion, token } = cipher.encryptBytes(p)
        const third = Math.floor(token.length / 3)
        const pieces = [token.subarray(0, third), token.subarray(third, 2 * third), token.subarray(2 * third)]
        return { keyVersion, token: { pieces, length: token.length } }
      }
    }
    const records = new RecordRepository(db, inPieces)
    const datas = [5000, 3, 70_000, 0, 12].map((n) => new Uint8Array(Buffer.alloc(n, n % 251)))
    const rows = datas.map((data) => records.put(data, dataHashOf(data)))
    rows.forEach((row, i) => {
      const data = datas[i] as Uint8Array
      const stored = db.prepare('SELECT ciphertext FROM records WHERE id = ?').get(row.id) as {
        ciphertext: Buffer
      }
      expect(stored.ciphertext.length).toBe(data.length + 1)
      expect(records.read(row.dataHash)).toEqual(data)
    })
  })
})
