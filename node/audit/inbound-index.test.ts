import { afterEach, describe, expect, it } from 'vitest'
import type { ReceiptBody } from '../core/receipt.ts'
import type { AuditEventRow } from '../store/audit-events.ts'
import { type AuditTestDb, auditTestDb } from '../store/test-support/audit-db.ts'
import { attributeInbound } from './inbound-index.ts'
import { peerIdHash, receiptLeaf } from './leaves.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const SENDER = '12D3KooWSenderSenderSenderSenderSenderSenderSenderSe'
const SELF = '12D3KooWRecipientRecipientRecipientRecipientRecipie'
const SHARE = 'ab'.repeat(16)
const DATA = 'cd'.repeat(32)
const BOUND = '0x00000000000000000000000000000000000000aa'
const body: ReceiptBody = {
  v: 1,
  shareId: SHARE,
  dataHash: DATA,
  sender: SENDER,
  recipient: SELF,
  tier: 'standard',
  receivedAt: 7_000
}

function received() {
  const at = new Date().toISOString()
  const record = t.db
    .prepare(
      'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, 1, ?)'
    )
    .run(DATA, Buffer.from('x'), at).lastInsertRowid
  t.db
    .prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, receipt,
         created_at, updated_at) VALUES (?, 'in', ?, ?, ?, ?, 'standard', 'received', ?, ?, ?)`
    )
    .run(SHARE, record, DATA, SENDER, SELF, Buffer.from(JSON.stringify({ body, signature: 'c2ln' })), at, at)
}

let log = 0
function indexed(fields: Partial<AuditEventRow>): string {
  const txHash = `0x${String(++log).padStart(64, '0')}`
  t.repos.events.add({
    eventName: 'ShareRecorded',
    shareId: SHARE,
    dataHash: DATA,
    sender: null,
    recipient: null,
    senderHash: null,
    recipientHash: peerIdHash(SELF),
    tier: null,
    timestampMs: null,
    receiptHash: null,
    root: null,
    leafIndex: null,
    submitter: BOUND,
    txHash,
    blockNumber: log,
    blockHash: '0xh',
    logIndex: 0,
    args: '{}',
    ...fields
  })
  return txHash
}

const attributed = () =>
  (
    t.db.prepare('SELECT tx_hash FROM audit_events WHERE sender IS NOT NULL ORDER BY id').all() as {
      tx_hash: string
    }[]
  ).map((r) => r.tx_hash)

const bound = async (peerId: string) => (peerId === SENDER ? [BOUND.toUpperCase().replace('0X', '0x')] : [])

describe('attributing chain events to a received share', () => {
  it('fills the parties, tier and receive time of events that say what the recipient holds', async () => {
    t = auditTestDb()
    received()
    const record = indexed({})
    const anchor = indexed({
      eventName: 'ReceiptAnchored',
      dataHash: null,
      recipientHash: null,
      receiptHash: receiptLeaf(body)
    })
    expect(await attributeInbound({ repos: t.repos, boundAccounts: bound })).toBe(2)
    expect(attributed()).toEqual([record, anchor])
    expect(t.repos.events.shareEvents({ limit: 10, offset: 0 })[0]).toMatchObject({
      sender: SENDER,
      recipient: SELF,
      senderHash: peerIdHash(SENDER),
      recipientHash: peerIdHash(SELF),
      dataHash: DATA,
      tier: 'standard',
      timestampMs: 7_000
    })
  })

  it('leaves unattributed an event of an unbound account or with another data hash, recipient or receipt hash', async () => {
    t = auditTestDb()
    received()
    indexed({ submitter: '0x00000000000000000000000000000000000000bb' })
    indexed({ dataHash: 'ee'.repeat(32) })
    indexed({ recipientHash: peerIdHash(SENDER) })
    indexed({
      eventName: 'ReceiptAnchored',
      dataHash: null,
      recipientHash: null,
      receiptHash: 'ff'.repeat(32)
    })
    indexed({
      eventName: 'ReceiptAnchored',
      dataHash: null,
      recipientHash: null,
      receiptHash: receiptLeaf(body),
      submitter: '0x00000000000000000000000000000000000000bb'
    })
    expect(await attributeInbound({ repos: t.repos, boundAccounts: bound })).toBe(0)
    expect(attributed()).toEqual([])
    expect(t.repos.inbound.candidates()).toHaveLength(5)
  })
})
