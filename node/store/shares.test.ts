import { describe, expect, it } from 'vitest'
import { openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { ShareRepository } from './shares.ts'

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

  it('records retries, failure with the last error, delivery, and requeues a failed share', () => {
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
    expect(shares.listOutgoing({ state: 'failed' }).map((s) => s.lastError)).toEqual(['expired'])
    expect(shares.requeue(id, 99_000, 3_000)).toBe(true)
    expect(shares.get(id)).toMatchObject({ state: 'queued', nextAttemptMs: 3_000, expiresMs: 99_000 })
    expect(shares.markDelivered(id, new Uint8Array([1]))).toEqual(shares.get(id))
    expect(shares.get(id)).toMatchObject({ state: 'delivered', lastError: null })
    expect(shares.countByState()).toEqual({ 'out:delivered': 1 })
  })

  it('finds an outgoing share by data hash and recipient only', () => {
    const { shares, queue } = setup()
    queue('1'.repeat(32), 0)
    expect(shares.findOutgoingTo('a'.repeat(64), 'R')?.shareId).toBe('1'.repeat(32))
    expect(shares.findOutgoingTo('a'.repeat(64), 'X')).toBeUndefined()
    expect(shares.list({ direction: 'in' })).toEqual([])
    expect(shares.list({ direction: 'out', state: 'queued' }).map((s) => s.shareId)).toEqual(['1'.repeat(32)])
  })

  it('lists shares by every filter combination, newest first, and their ids by state', () => {
    const { db, shares, queue } = setup()
    queue('1'.repeat(32), 0)
    queue('2'.repeat(32), 0)
    db.prepare("UPDATE shares SET created_at = '2999-01-01T00:00:00.000Z' WHERE share_id = ?").run(
      '2'.repeat(32)
    )
    shares.markFailed('1'.repeat(32), 'expired')
    const ids = (rows: { shareId: string }[]) => rows.map((r) => r.shareId[0])
    expect(ids(shares.list())).toEqual(['2', '1'])
    expect(ids(shares.list({ direction: 'out' }))).toEqual(['2', '1'])
    expect(ids(shares.list({ state: 'failed' }))).toEqual(['1'])
    expect(ids(shares.list({ direction: 'out', state: 'queued' }))).toEqual(['2'])
    expect(ids(shares.list({ limit: 1, offset: 1 }))).toEqual(['1'])
    expect(shares.listIds({ limit: 10 })).toEqual(['2'.repeat(32), '1'.repeat(32)])
    expect(shares.listIds({ state: 'queued', limit: 10 })).toEqual(['2'.repeat(32)])
    expect(shares.listIds({ limit: 1 })).toEqual(['2'.repeat(32)])
  })

  it("brings a recipient's later shares forward and sets one share's next attempt", () => {
    const { shares, queue } = setup()
    queue('1'.repeat(32), 500)
    queue('2'.repeat(32), 9_000)
    expect(shares.advanceRecipient('X', 1_000)).toBe(0)
    expect(shares.advanceRecipient('R', 1_000)).toBe(1)
    expect(shares.get('1'.repeat(32))?.nextAttemptMs).toBe(500)
    expect(shares.get('2'.repeat(32))?.nextAttemptMs).toBe(1_000)
    shares.setNextAttempt('1'.repeat(32), 42)
    expect(shares.nextDueMs()).toBe(42)
  })
})
