import { describe, expect, it } from 'vitest'
import { openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { dataHashOf, type RecordCipher, RecordRepository } from './records.ts'

/** A reversible stand-in for the key ring: the repository's contract is what is tested here. */
const cipher: RecordCipher = {
  encrypt: (p) => ({ keyVersion: 3, token: Buffer.from(p.map((b) => b ^ 0x5a)).toString('base64') }),
  decrypt: (v, t) => {
    if (v !== 3) throw new Error('unknown version')
    return new Uint8Array(Buffer.from(t, 'base64')).map((b) => b ^ 0x5a)
  }
}

describe('record repository', () => {
  it('stores records encrypted with their key version and reads them back', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const records = new RecordRepository(db, cipher)
    const data = new TextEncoder().encode('patient 42: blood type 0+')
    const row = records.put(data)
    expect(row).toMatchObject({ dataHash: dataHashOf(data), keyVersion: 3, sizeBytes: data.byteLength })
    const stored = db.prepare('SELECT ciphertext FROM records').get() as { ciphertext: Buffer }
    expect(Buffer.from(stored.ciphertext).includes(Buffer.from('patient'))).toBe(false)
    expect(records.read(row.dataHash)).toEqual(data)
  })

  it('returns the same row for the same bytes and refuses a hash that does not match', () => {
    const db = openDatabase(':memory:')
    migrate(db)
    const records = new RecordRepository(db, cipher)
    const data = new Uint8Array([1, 2, 3])
    expect(records.put(data).id).toBe(records.put(data).id)
    expect(() => records.put(data, '0'.repeat(64))).toThrow(RangeError)
    expect(records.read('f'.repeat(64))).toBeUndefined()
  })
})
