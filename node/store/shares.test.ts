import { describe, expect, it } from 'vitest'
import type { SignedReceipt } from '../core/receipt.ts'
import { openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { ShareRepository } from './shares.ts'

const RECEIPT: SignedReceipt = {
  body: {
    v: 1,
    shareId: '1'.repeat(32),
    dataHash: 'a'.repeat(64),
    sender: 'S',
    recipient: 'R',
    tier: 'standard',
    receivedAt: 1_000
  },
  signature: 'c2ln'
}

function setup() {
  const db = openDatabase(':memory:')
  migrate(db)
  const recordId = Number(
    db
      .prepare(
        `INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, x'00', 1, 'now')`
      )
      .run('a'.repeat(64)).lastInsertRowid
  )
  const shares = new ShareRepository(db)
  const queue = (shareId: string, nextAttemptMs: number) =>
    shares.insert({
      shareId,
      direction: 'out',
      recordId,
      dataHash: 'a'.repeat(64),
      sender: 'S',
      recipient: 'R',
      tier: 'standard',
      state: 'queued',
      nextAttemptMs,
      expiresMs: 10_000
    })
  return { db, shares, queue }
}

describe('share repository', () => {
  it('hands out due shares once: a claimed share is not claimed again', () => {
    const { shares, queue } = setup()
    queue('1'.repeat(32), 100)
    queue('2'.repeat(32), 5_000)
    expect(shares.listDue(1_000, 10).map((s) => s.shareId)).toEqual(['1'.repeat(32)])
    expect(shares.claim('1'.repeat(32))).toBe(true)
    expect(shares.claim('1'.repeat(32))).toBe(false)
    expect(shares.get('1'.repeat(32))).toMatchObject({ state: 'delivering', attempts: 1 })
    expect(shares.nextDueMs()).toBe(5_000)
  })

  it('puts interrupted attempts back in the queue after a restart', () => {
    const { shares, queue } = setup()
    queue('1'.repeat(32), 0)
    shares.claim('1'.repeat(32))
    expect(shares.resetInterrupted()).toBe(1)
    expect(shares.get('1'.repeat(32))?.state).toBe('queued')
  })

  it('records retries, failure with the last error, and delivery with its receipt', () => {
    const { shares, queue } = setup()
    const id = '1'.repeat(32)
    queue(id, 0)
    shares.claim(id)
    shares.markRetry(id, 2_000, 'DialError: refused')
    expect(shares.get(id)).toMatchObject({
      state: 'queued',
      nextAttemptMs: 2_000,
      lastError: 'DialError: refused'
    })
    shares.markFailed(id, 'expired')
    expect(shares.views({ state: 'failed', limit: 10 }, 'per-share').map((s) => s.lastError)).toEqual([
      'expired'
    ])
    expect(shares.markDelivered(id, RECEIPT)).toEqual(shares.get(id))
    expect(shares.get(id)).toMatchObject({ state: 'delivered', lastError: null, receipt: RECEIPT })
    expect(shares.countByState()).toEqual({ 'out:delivered': 1 })
  })

  it('finds an outgoing share by data hash and recipient only', () => {
    const { shares, queue } = setup()
    queue('1'.repeat(32), 0)
    expect(shares.findOutgoingTo('a'.repeat(64), 'R')?.shareId).toBe('1'.repeat(32))
    expect(shares.findOutgoingTo('a'.repeat(64), 'X')).toBeUndefined()
  })

  it('lists share views newest first, by state and up to a limit', () => {
    const { db, shares, queue } = setup()
    queue('1'.repeat(32), 0)
    queue('2'.repeat(32), 0)
    db.prepare("UPDATE shares SET created_at = '2999-01-01T00:00:00.000Z' WHERE share_id = ?").run(
      '2'.repeat(32)
    )
    shares.markFailed('1'.repeat(32), 'expired')
    const ids = (views: { shareId: string }[]) => views.map((v) => v.shareId[0])
    expect(ids(shares.views({ limit: 10 }, 'per-share'))).toEqual(['2', '1'])
    expect(ids(shares.views({ state: 'failed', limit: 10 }, 'per-share'))).toEqual(['1'])
    expect(ids(shares.views({ state: 'queued', limit: 10 }, 'per-share'))).toEqual(['2'])
    expect(ids(shares.views({ limit: 1 }, 'per-share'))).toEqual(['2'])
    expect(shares.views({ state: 'received', limit: 10 }, 'per-share')).toEqual([])
    expect(shares.view('2'.repeat(32), 'per-share')).toMatchObject({
      shareId: '2'.repeat(32),
      recipientLabel: 'R',
      delivery: 'queued',
      audit: 'pending',
      txHash: null
    })
    expect(shares.view('3'.repeat(32), 'per-share')).toBeUndefined()
  })

  it("brings a recipient's later shares forward", () => {
    const { shares, queue } = setup()
    queue('1'.repeat(32), 500)
    queue('2'.repeat(32), 9_000)
    expect(shares.advanceRecipient('X', 1_000)).toBe(0)
    expect(shares.advanceRecipient('R', 1_000)).toBe(1)
    expect(shares.get('1'.repeat(32))?.nextAttemptMs).toBe(500)
    expect(shares.get('2'.repeat(32))?.nextAttemptMs).toBe(1_000)
    expect(shares.nextDueMs()).toBe(500)
  })
})

describe('where a share stands on the audit trail', () => {
  const t = '2026-11-23T00:00:00.000Z'
  const share = (digit: string) => digit.repeat(32)
  function trail() {
    const { db, queue, shares } = setup()
    for (const digit of ['1', '2', '3', '4']) queue(share(digit), 9e15)
    const outbox = (kind: string, shareId: string | null, state: string, tx: string | null, batch?: number) =>
      db
        .prepare(
          `INSERT INTO outbox (kind, share_id, data_hash, payload, state, tx_hash, batch_id, created_at, updated_at)
           VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?)`
        )
        .run(kind, shareId, shareId ? 'a'.repeat(64) : null, state, tx, batch ?? null, t, t)
    const batch = (tx: string) =>
      Number(
        db
          .prepare(
            `INSERT INTO audit_batches (root, count, state, tx_hash, created_at, updated_at) VALUES (?, 1, 'confirmed', ?, ?, ?)`
          )
          .run(tx.padEnd(64, '0'), tx, t, t).lastInsertRowid
      )
    /** An indexed event; `sender` null is one this node did not attribute to the share's sender. */
    const event = (name: string, shareId: string, tx: string, block: number, sender: string | null = 'S') =>
      db
        .prepare(
          `INSERT INTO audit_events (event_name, share_id, sender, tx_hash, block_number, log_index, args)
           VALUES (?, ?, ?, ?, ?, 0, '{}')`
        )
        .run(name, shareId, sender, tx, block)
    return { db, shares, outbox, batch, event }
  }
  const audits = (shares: ShareRepository) =>
    Object.fromEntries(
      shares.views({ limit: 10 }, 'per-share').map((v) => [v.shareId[0], [v.audit, v.txHash]])
    )

  it("takes the receipt's event before the share's, and the entry's transaction before its batch's", () => {
    const { shares, outbox, batch } = trail()
    outbox('share', share('1'), 'confirmed', null, batch('0xbatch'))
    outbox('receipt', share('1'), 'sent', '0xreceipt')
    outbox('share', share('2'), 'confirmed', null, batch('0xsecond'))
    outbox('receipt', share('2'), 'pending', null)
    outbox('share', share('3'), 'pending', null)
    outbox('node', null, 'confirmed', '0xnode')
    expect(audits(shares)).toEqual({
      '1': ['sent', '0xreceipt'],
      '2': ['pending', '0xsecond'],
      '3': ['pending', null],
      '4': ['pending', null]
    })
    expect(shares.view(share('1'), 'per-share')).toMatchObject({ audit: 'sent', txHash: '0xreceipt' })
    expect(shares.auditOf(share('2'))).toEqual({ audit: 'pending', txHash: '0xsecond' })
    expect(shares.auditOf('9'.repeat(32))).toEqual({ audit: 'pending', txHash: null })
  })

  it("records a share without an outbox entry once the event index holds its record, confirms it with the receipt's event", () => {
    const { shares, outbox, event } = trail()
    expect(shares.auditOf(share('1'))).toEqual({ audit: 'pending', txHash: null })
    event('ShareRecorded', share('1'), '0xshare', 9)
    expect(shares.auditOf(share('1'))).toEqual({ audit: 'recorded', txHash: '0xshare' })
    event('ReceiptAnchored', share('1'), '0xreceipt', 5)
    expect(shares.view(share('1'), 'per-share')).toMatchObject({ audit: 'confirmed', txHash: '0xreceipt' })
    // An outbox entry of its own is what counts for a share this node queued.
    event('ShareRecorded', share('2'), '0xindexed', 9)
    outbox('share', share('2'), 'sent', '0xsent')
    expect(audits(shares)).toMatchObject({ '1': ['confirmed', '0xreceipt'], '2': ['sent', '0xsent'] })
  })
  it("records a share its sender batched with the record's leaf, and confirms it with the receipt's", () => {
    const { db, shares, event } = trail()
    // Leaves of the sender's batch, as the recipient records them from its sender's evidence.
    const leaf = (tx: string, leafIndex: number, receiptHash: string | null) =>
      db
        .prepare(
          `INSERT INTO audit_events (event_name, share_id, sender, receipt_hash, leaf_index, tx_hash, block_number,
             log_index, args) VALUES ('BatchLeaf', ?, 'S', ?, ?, ?, 7, 0, '{}')`
        )
        .run(share('1'), receiptHash, leafIndex, tx)
    leaf('0xbatch1', 0, null)
    expect(shares.auditOf(share('1'))).toEqual({ audit: 'recorded', txHash: '0xbatch1' })
    leaf('0xbatch2', 3, 'c'.repeat(64))
    event('ShareRecorded', share('1'), '0xlater', 9)
    expect(shares.auditOf(share('1'))).toEqual({ audit: 'confirmed', txHash: '0xbatch2' })
  })

  it('counts no event it did not attribute to the share: another account may have sent it', () => {
    const { shares, event } = trail()
    event('ShareRecorded', share('1'), '0xforged', 3, null)
    event('ReceiptAnchored', share('1'), '0xforged2', 4, null)
    expect(shares.auditOf(share('1'))).toEqual({ audit: 'pending', txHash: null })
  })

  it("finds a share's events through the share-id index, not by scanning the event index", () => {
    const { db } = setup()
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT tx_hash FROM audit_events
         WHERE share_id = ? AND sender IS NOT NULL AND event_name IN ('ShareRecorded', 'ReceiptAnchored')`
      )
      .all('1'.repeat(32)) as { detail: string }[]
    expect(plan.map((r) => r.detail).join(' ')).toMatch(/USING INDEX audit_events_share/)
  })
})
