import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuditProgressRepository } from './audit-progress.ts'
import { type Db, openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { ShareRepository } from './shares.ts'

const t = '2026-11-23T00:00:00.000Z'
const SHARE = '1'.repeat(32)
const OTHER = '2'.repeat(32)

let dir: string
let db: Db
let progress: AuditProgressRepository
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-audit-progress-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  const recordId = Number(
    db
      .prepare(
        `INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, x'00', 1, ?)`
      )
      .run('a'.repeat(64), t).lastInsertRowid
  )
  const shares = new ShareRepository(db)
  for (const shareId of [SHARE, OTHER]) {
    shares.insert({
      shareId,
      direction: 'out',
      recordId,
      dataHash: 'a'.repeat(64),
      sender: 'S',
      recipient: 'R',
      tier: 'standard',
      state: 'queued'
    })
  }
  progress = new AuditProgressRepository(db)
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

function outbox(
  kind: string,
  shareId: string | null,
  state: string,
  tx: string | null = null,
  batch?: number
) {
  return Number(
    db
      .prepare(
        `INSERT INTO outbox (kind, share_id, data_hash, payload, state, tx_hash, batch_id, created_at, updated_at)
         VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?)`
      )
      .run(kind, shareId, shareId ? 'a'.repeat(64) : null, state, tx, batch ?? null, t, t).lastInsertRowid
  )
}
function batch(tx: string): number {
  return Number(
    db
      .prepare(
        `INSERT INTO audit_batches (root, count, state, tx_hash, created_at, updated_at) VALUES (?, 1, 'confirmed', ?, ?, ?)`
      )
      .run('b'.repeat(64), tx, t, t).lastInsertRowid
  )
}
/** An indexed event; `sender` null is an event this node did not attribute to the share's sender. */
function event(name: string, shareId: string, tx: string, block: number, sender: string | null = 'S') {
  db.prepare(
    `INSERT INTO audit_events (event_name, share_id, sender, tx_hash, block_number, log_index, args)
     VALUES (?, ?, ?, ?, ?, 0, '{}')`
  ).run(name, shareId, sender, tx, block)
}

describe('audit progress repository', () => {
  it("lists a share's own outbox entries with their transaction, falling back to the batch's", () => {
    outbox('share', SHARE, 'confirmed', null, batch('0xbatch'))
    outbox('receipt', SHARE, 'sent', '0xreceipt')
    outbox('share', OTHER, 'pending')
    outbox('node', null, 'confirmed', '0xnode')
    expect(progress.outboxOfShare(SHARE)).toEqual(
      expect.arrayContaining([
        { kind: 'share', state: 'confirmed', txHash: '0xbatch' },
        { kind: 'receipt', state: 'sent', txHash: '0xreceipt' }
      ])
    )
    expect(progress.outboxOfShare(SHARE)).toHaveLength(2)
    expect(progress.outboxOfShare(OTHER)).toEqual([{ kind: 'share', state: 'pending', txHash: null }])
  })

  it("finds where a share anchored by its sender stands, a receipt's event before the share's", () => {
    expect(progress.anchorOf(SHARE)).toBeUndefined()
    event('ShareRecorded', SHARE, '0xshare', 9)
    expect(progress.anchorOf(SHARE)).toEqual({ audit: 'recorded', txHash: '0xshare' })
    event('ReceiptAnchored', SHARE, '0xreceipt', 5)
    expect(progress.anchorOf(SHARE)).toEqual({ audit: 'confirmed', txHash: '0xreceipt' })
  })

  it('counts no event it did not attribute to the share: another account may have sent it', () => {
    event('ShareRecorded', SHARE, '0xforged', 3, null)
    event('ReceiptAnchored', SHARE, '0xforged2', 4, null)
    expect(progress.anchorOf(SHARE)).toBeUndefined()
  })
})
