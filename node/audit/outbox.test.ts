import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from '../store/database.ts'
import { migrate } from '../store/migrations.ts'
import { OutboxRepository } from '../store/outbox.ts'
import { receiptLeaf, shareLeaf } from './leaves.ts'
import { enqueueReceiptEvent, enqueueShareEvent, listOutbox, outboxDepth } from './outbox.ts'

let db: Db
let outbox: OutboxRepository
afterEach(() => db?.close())

const peer = () => `12D3KooW${'a'.repeat(44)}`
function share() {
  const data = randomBytes(8)
  return {
    shareId: randomBytes(16).toString('hex'),
    dataHash: createHash('sha256').update(data).digest('hex'),
    sender: peer(),
    recipient: `12D3KooW${'b'.repeat(44)}`,
    tier: 'standard' as const,
    timestamp: 1_700_000_000_000
  }
}
function withShareRow(s: ReturnType<typeof share>) {
  const t = new Date().toISOString()
  const id = db
    .prepare(
      'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, 1, ?)'
    )
    .run(s.dataHash, Buffer.from('x'), t).lastInsertRowid
  db.prepare(
    `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, created_at, updated_at)
     VALUES (?, 'out', ?, ?, ?, ?, 'standard', 'queued', ?, ?)`
  ).run(s.shareId, id, s.dataHash, s.sender, s.recipient, t, t)
}

describe('outbox', () => {
  it('commits the event with the share and rolls it back with it', () => {
    db = openDatabase(':memory:')
    migrate(db)
    outbox = new OutboxRepository(db)
    const kept = share()
    db.transaction(() => {
      withShareRow(kept)
      enqueueShareEvent(outbox, kept)
    })()
    const lost = share()
    expect(() =>
      db.transaction(() => {
        withShareRow(lost)
        enqueueShareEvent(outbox, lost)
        throw new Error('delivery setup failed')
      })()
    ).toThrow('delivery setup failed')
    expect(listOutbox(outbox).map((e) => e.shareId)).toEqual([kept.shareId])
    expect(listOutbox(outbox)[0]?.leaf).toBe(shareLeaf(kept))
  })

  it('queues each kind of event once per share', () => {
    db = openDatabase(':memory:')
    migrate(db)
    outbox = new OutboxRepository(db)
    const s = share()
    withShareRow(s)
    const { timestamp, ...fields } = s
    const signed = { body: { v: 1 as const, ...fields, receivedAt: timestamp + 1 }, signature: 'c2ln' }
    expect(enqueueShareEvent(outbox, s)).toBeTypeOf('number')
    expect(enqueueShareEvent(outbox, s)).toBeNull()
    expect(enqueueReceiptEvent(outbox, signed)).toBeTypeOf('number')
    expect(enqueueReceiptEvent(outbox, signed)).toBeNull()
    expect(outboxDepth(outbox)).toMatchObject({ pending: 2, sent: 0, failed: 0 })
    expect(listOutbox(outbox)[0]).toMatchObject({ kind: 'receipt', leaf: receiptLeaf(signed.body) })
  })

  it('refuses a malformed event with a named error and writes nothing', () => {
    db = openDatabase(':memory:')
    migrate(db)
    outbox = new OutboxRepository(db)
    expect(() => enqueueShareEvent(outbox, { ...share(), dataHash: 'nothex' })).toThrow(
      expect.objectContaining({ name: 'InvalidAuditEventError' })
    )
    expect(listOutbox(outbox)).toEqual([])
  })
})

describe('p2p hooks', () => {
  it('turn a queued share row and its stored receipt into the two audit events', async () => {
    const { auditHooks } = await import('./p2p-hooks.ts')
    db = openDatabase(':memory:')
    migrate(db)
    outbox = new OutboxRepository(db)
    const s = share()
    const createdAt = new Date(s.timestamp).toISOString()
    const hooks = auditHooks({ outbox })
    db.transaction(() => {
      withShareRow(s)
      hooks.onShareQueued(db, { ...s, createdAt })
    })()
    const { timestamp, ...fields } = s
    const receipt = { body: { v: 1 as const, ...fields, receivedAt: timestamp + 9 }, signature: 'c2ln' }
    hooks.onReceiptStored(db, { ...s, createdAt }, receipt)
    const [r, q] = listOutbox(outbox)
    expect(q).toMatchObject({ kind: 'share', leaf: shareLeaf(s) })
    expect(r).toMatchObject({ kind: 'receipt', leaf: receiptLeaf(receipt.body) })
  })
})
