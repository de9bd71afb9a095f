import { afterEach, describe, expect, it } from 'vitest'
import type { AuditEventRow } from './audit-events.ts'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const hex = (c: string) => c.repeat(64)
const SHARE = '1'.repeat(32)
const RECEIPT = '{"body":{},"signature":"c2ln"}'

function received(shareId: string, createdAt = new Date().toISOString()) {
  const record = t.db
    .prepare(
      'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, 1, ?)'
    )
    .run(hex(shareId[0] as string), Buffer.from('x'), createdAt).lastInsertRowid
  t.db
    .prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, receipt,
         created_at, updated_at) VALUES (?, 'in', ?, ?, 'S', 'R', 'high', 'received', ?, ?, ?)`
    )
    .run(shareId, record, hex(shareId[0] as string), Buffer.from(RECEIPT), createdAt, createdAt)
}

function event(fields: Partial<AuditEventRow>): AuditEventRow {
  return {
    eventName: 'ShareRecorded',
    shareId: SHARE,
    dataHash: hex('1'),
    sender: null,
    recipient: null,
    senderHash: null,
    recipientHash: hex('b'),
    tier: null,
    timestampMs: null,
    receiptHash: null,
    root: null,
    leafIndex: null,
    submitter: '0xS',
    txHash: '0xt1',
    blockNumber: 1,
    blockHash: '0xh',
    logIndex: 0,
    args: '{}',
    ...fields
  }
}

const attribution = (txHash: string) => ({
  txHash,
  logIndex: 0,
  dataHash: hex('1'),
  sender: 'S',
  recipient: 'R',
  senderHash: hex('a'),
  recipientHash: hex('b'),
  tier: 'high' as const,
  timestampMs: 5_000
})

describe('inbound audit repository', () => {
  it('offers the unattributed events of inbound shares beside what the recipient holds', () => {
    t = auditTestDb()
    received(SHARE)
    t.repos.events.add(event({}))
    t.repos.events.add(event({ eventName: 'ReceiptAnchored', txHash: '0xt2', receiptHash: hex('c') }))
    // An event of a share this node sent, and one of a share it does not hold, are not candidates.
    const sent = t.share()
    t.repos.events.add(event({ shareId: sent, txHash: '0xt3' }))
    t.repos.events.add(event({ shareId: '9'.repeat(32), txHash: '0xt4' }))
    const candidates = t.repos.inbound.candidates()
    expect(candidates.map((c) => [c.eventName, c.txHash])).toEqual([
      ['ShareRecorded', '0xt1'],
      ['ReceiptAnchored', '0xt2']
    ])
    expect(candidates[0]).toMatchObject({
      eventDataHash: hex('1'),
      eventRecipientHash: hex('b'),
      shareId: SHARE,
      sender: 'S',
      recipient: 'R',
      tier: 'high'
    })
    expect(candidates[1]).toMatchObject({ eventDataHash: null, receiptHash: hex('c') })
    expect(Buffer.from(candidates[0]?.receipt ?? []).toString()).toBe(RECEIPT)
  })

  it('attributes an event once, after which no other event of its kind is a candidate for the share', () => {
    t = auditTestDb()
    received(SHARE)
    t.repos.events.add(event({ txHash: '0xforged', blockNumber: 1 }))
    t.repos.events.add(event({ txHash: '0xreal', blockNumber: 2 }))
    expect(t.repos.inbound.attribute(attribution('0xreal'))).toBe(true)
    expect(t.repos.inbound.attribute(attribution('0xreal'))).toBe(false)
    expect(t.repos.inbound.candidates()).toEqual([])
    const history = t.repos.events.shareEvents({ limit: 10, offset: 0 })
    expect(history.map((h) => [h.txHash, h.sender, h.tier, h.timestampMs])).toEqual([
      ['0xreal', 'S', 'high', 5_000]
    ])
  })

  it('lists the inbound shares still waiting for an attributed receipt anchor, received since a time', () => {
    t = auditTestDb()
    const other = '2'.repeat(32)
    const old = '3'.repeat(32)
    received(SHARE)
    received(other)
    received(old, '2026-01-01T00:00:00.000Z')
    t.repos.events.add(event({ eventName: 'ReceiptAnchored', shareId: other, txHash: '0xr' }))
    const since = '2026-06-01T00:00:00.000Z'
    expect(t.repos.inbound.outstandingShareIds({ since, limit: 10 }).sort()).toEqual([SHARE, other])
    t.repos.inbound.attribute(attribution('0xr'))
    expect(t.repos.inbound.outstandingShareIds({ since, limit: 10 })).toEqual([SHARE])
    expect(
      t.repos.inbound.outstandingShareIds({ since: new Date(0).toISOString(), limit: 10 }).sort()
    ).toEqual([SHARE, old].sort())
    // A receipt's leaf in the sender's batch, attributed, counts as its anchor; the record's leaf does not.
    const leaf = (leafIndex: number, receiptHash: string | null, sender: string | null = 'S') =>
      t.repos.events.add(
        event({ eventName: 'BatchLeaf', txHash: '0xb', leafIndex, receiptHash, sender, shareId: SHARE })
      )
    leaf(0, null)
    leaf(1, hex('d'), null)
    expect(t.repos.inbound.outstandingShareIds({ since, limit: 10 })).toEqual([SHARE])
    leaf(2, hex('d'))
    expect(t.repos.inbound.outstandingShareIds({ since, limit: 10 })).toEqual([])
  })
})
