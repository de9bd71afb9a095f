import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyRing, generateRsaKeyPair, openKeyRing, rewrapRecords } from '../../node/crypto/index.ts'
import { openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { RecordRepository } from '../../node/store/records.ts'

/** Crash safety of the key ring file and of rewrap, with a real process killed at a hook point. */

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url))
const PASSWORD = 'crash test password'
let dir: string
let identity: Awaited<ReturnType<typeof makeIdentity>>

const makeIdentity = async () => {
  const [signing, encryption] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)])
  return { signing, encryption }
}

function runChild(args: string[]) {
  return spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', CHILD, ...args], {
    env: { ...process.env, DMN_TEST_PASSWORD: PASSWORD },
    encoding: 'utf8',
    timeout: 60_000
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-crash-'))
  identity = await makeIdentity()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('key ring crash safety', () => {
  it('a write killed before the rename leaves the previous file intact and usable', async () => {
    const path = join(dir, 'ring-a', 'keyring.json')
    const ring = await createKeyRing(path, PASSWORD, { identity })
    const { keyVersion, token } = ring.encrypt(Buffer.from('before the crash'))
    ring.close()
    const before = readFileSync(path)

    const child = runChild(['ring-write', path])
    expect(child.signal, child.stderr).toBe('SIGKILL')

    expect(readFileSync(path).equals(before)).toBe(true)
    // The new content did reach the disk, in a temp file that readers never look at.
    expect(readdirSync(join(dir, 'ring-a')).filter((f) => f.endsWith('.tmp'))).toHaveLength(1)
    const reopened = await openKeyRing(path, PASSWORD)
    expect(reopened.primaryVersion).toBe(1)
    expect(Buffer.from(reopened.decrypt(keyVersion, token)).toString()).toBe('before the crash')
    expect(await reopened.rotate()).toBe(2)
    expect((await openKeyRing(path, PASSWORD)).primaryVersion).toBe(2)
  })

  it('a rewrap killed half-way resumes and finishes with every record readable', async () => {
    const path = join(dir, 'ring-b', 'keyring.json')
    const dbPath = join(dir, 'ring-b', 'node.db')
    const ring = await createKeyRing(path, PASSWORD, { identity })
    const db = openDatabase(dbPath)
    migrate(db)
    const plaintexts = Array.from({ length: 55 }, (_, i) => randomBytes(50 + i))
    const insert = db.prepare(
      'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, ?, ?, ?, ?)'
    )
    for (const p of plaintexts) {
      const { keyVersion, token } = ring.encrypt(p)
      insert.run(
        createHash('sha256').update(p).digest('hex'),
        keyVersion,
        Buffer.from(token),
        p.length,
        new Date().toISOString()
      )
    }
    await ring.rotate()
    db.close()

    const child = runChild(['rewrap', path, dbPath, '2'])
    expect(child.signal, child.stderr).toBe('SIGKILL')

    const db2 = openDatabase(dbPath)
    const again = await openKeyRing(path, PASSWORD)
    const records = new RecordRepository(db2, again)
    expect(records.countByKeyVersion()).toEqual(
      new Map([
        [1, 35],
        [2, 20]
      ])
    )
    const result = await rewrapRecords(again, records, { batchSize: 10 })
    expect(result.rewrapped).toBe(35)
    expect(result.failed).toEqual([])
    expect(records.countByKeyVersion()).toEqual(new Map([[2, 55]]))
    const rows = db2.prepare('SELECT key_version, ciphertext FROM records ORDER BY id').all() as {
      key_version: number
      ciphertext: Buffer
    }[]
    rows.forEach((row, i) => {
      expect(
        Buffer.from(again.decrypt(row.key_version, row.ciphertext.toString('ascii'))).equals(
          plaintexts[i] as Buffer
        )
      ).toBe(true)
    })
    db2.close()
  })
})
