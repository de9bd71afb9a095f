import { afterEach, describe, expect, it } from 'vitest'
import type { SignedReceipt } from '../core/receipt.ts'
import { openDatabase } from './database.ts'
import { checkEventTriggers, EVENT_TRIGGERS, EventLogRepository } from './event-log.ts'
import { PeerRepository } from './peers.ts'
import { ShareRepository } from './shares.ts'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const PEER = '12D3KooWA1111111111111111111111111111111111111111111'
const hex = (n: number) => n.toString(16).padStart(64, '0')
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
  t = auditTestDb()
  const log = new EventLogRepository(t.db)
  const shares = new ShareRepository(t.db)
  /** Types and payloads of the events after `afterId`. */
  const since = (afterId: number) => log.after(afterId, 1_000).map((e) => ({ type: e.type, data: e.data }))
  return { log, shares, since }
}

describe('event log repository', () => {
  it('hands out increasing ids and reads them back in pages, filtered by type prefix', () => {
    const { log } = setup()
    expect(log.latestId()).toBe(0)
    expect(log.oldestId()).toBeUndefined()
    const ids = [
      'share.accepted',
      'audit.sent',
      'share.delivered',
      'security.auth.failure',
      'audit.confirmed'
    ].map((type, i) => log.append(type, { i }, 1_000 + i))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(5)
    expect(log.latestId()).toBe(ids[4])
    expect(log.oldestId()).toBe(ids[0])
    expect(log.after(0, 2)).toEqual([
      { id: ids[0], type: 'share.accepted', at: 1_000, data: { i: 0 } },
      { id: ids[1], type: 'audit.sent', at: 1_001, data: { i: 1 } }
    ])
    expect(log.after(ids[1] as number, 10).map((e) => e.id)).toEqual(ids.slice(2))
    expect(log.after(0, 10, ['share.', 'security.']).map((e) => e.type)).toEqual([
      'share.accepted',
      'share.delivered',
      'security.auth.failure'
    ])
    expect(log.after(0, 1, ['audit.'])).toHaveLength(1)
    expect(log.after(0, 10, [])).toHaveLength(5)
    expect(log.after(0, 10, ['nothing.'])).toEqual([])
    // A prefix is matched as text, never as a LIKE pattern.
    expect(log.after(0, 10, ['share%'])).toEqual([])
  })

  it('prunes events older than the cutoff; ids go on increasing and are never used again', () => {
    const { log } = setup()
    const old = [1, 2, 3].map((i) => log.append('share.accepted', { i }, 1_000 + i))
    const kept = log.append('share.accepted', { i: 4 }, 5_000)
    expect(log.pruneBefore(1_003)).toBe(2)
    expect(log.oldestId()).toBe(old[2])
    expect(log.pruneBefore(5_000)).toBe(1)
    expect(log.oldestId()).toBe(kept)
    expect(log.pruneBefore(9_000)).toBe(1)
    expect(log.oldestId()).toBeUndefined()
    expect(log.latestId()).toBe(kept)
    expect(log.append('share.accepted', {}, 10_000)).toBe(kept + 1)
  })

  it('keeps its ids across a reopen of the database file', () => {
    const { log } = setup()
    const id = log.append('peer.refused', { peer_id: PEER })
    log.pruneBefore(Date.now() + 1)
    const path = t.db.name
    t.db.close()
    const db = openDatabase(path)
    try {
      const reopened = new EventLogRepository(db)
      expect(reopened.latestId()).toBe(id)
      expect(reopened.append('peer.refused', {})).toBe(id + 1)
    } finally {
      db.close()
    }
  })

  it('writes nothing for a state change that is rolled back, and leaves no gap in the ids', () => {
    const { log, shares } = setup()
    const shareId = t.share()
    const before = log.latestId()
    expect(() =>
      t.db.transaction(() => {
        expect(shares.claim(shareId)).toBe(true)
        shares.markFailed(shareId, 'gave up')
        log.append('peer.refused', {})
        expect(log.after(before, 10).map((e) => e.type)).toEqual(['share.delivery_failed', 'peer.refused'])
        throw new Error('roll back')
      })()
    ).toThrow('roll back')
    expect(log.latestId()).toBe(before)
    expect(log.after(before, 10)).toEqual([])
    expect(shares.get(shareId)?.state).toBe('queued')
    expect(log.append('peer.refused', {})).toBe(before + 1)
  })
})

describe('events the database writes with each state change', () => {
  it('refuses a database whose event triggers a later rebuild of their table dropped', () => {
    setup()
    expect(() => checkEventTriggers(t.db)).not.toThrow()
    // The guard knows every trigger the migrations create for the log.
    const created = t.db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'events\\_%' ESCAPE '\\'`)
      .all()
      .map((r) => (r as { name: string }).name)
    expect([...EVENT_TRIGGERS].sort()).toEqual(created.sort())
    t.db.exec('DROP TRIGGER events_share_delivered')
    expect(() => checkEventTriggers(t.db)).toThrow(
      expect.objectContaining({ name: 'EventTriggersMissingError' })
    )
  })

  it('reports an outgoing share from acceptance through a failed attempt to delivery', () => {
    const { log, shares, since } = setup()
    const shareId = t.share()
    const [accepted] = log.after(0, 10)
    expect(accepted).toMatchObject({
      type: 'share.accepted',
      data: {
        share_id: shareId,
        direction: 'out',
        sender: 'S',
        recipient: 'R',
        tier: 'standard',
        state: 'queued'
      }
    })
    expect(accepted?.at).toBeGreaterThan(Date.now() - 60_000)
    let cursor = log.latestId()
    // A claim, an attempt given back unsent and one put back after a crash are no events.
    shares.claim(shareId)
    shares.unclaim(shareId, 5)
    shares.claim(shareId)
    shares.resetInterrupted()
    expect(since(cursor)).toEqual([])
    shares.claim(shareId)
    shares.markRetry(shareId, 99_000, 'PeerUnreachableError: no route')
    expect(since(cursor)).toEqual([
      {
        type: 'share.delivery_failed',
        data: expect.objectContaining({
          share_id: shareId,
          state: 'queued',
          attempts: 2,
          last_error: 'PeerUnreachableError: no route',
          next_attempt_ms: 99_000,
          final: false
        })
      }
    ])
    cursor = log.latestId()
    shares.claim(shareId)
    shares.markDelivered(shareId, RECEIPT)
    const delivered = since(cursor)
    expect(delivered).toEqual([
      {
        type: 'share.delivered',
        data: expect.objectContaining({ share_id: shareId, state: 'delivered', attempts: 3 })
      }
    ])
    // Receipts and envelopes stay out of the log.
    expect(JSON.stringify(delivered)).not.toContain('c2ln')
    expect(Object.keys(delivered[0]?.data ?? {})).not.toContain('receipt')
  })

  it('reports a final failure and a received share', () => {
    const { log, shares, since } = setup()
    const shareId = t.share()
    let cursor = log.latestId()
    shares.claim(shareId)
    shares.markFailed(shareId, 'expired')
    expect(since(cursor)).toEqual([
      {
        type: 'share.delivery_failed',
        data: expect.objectContaining({
          share_id: shareId,
          state: 'failed',
          last_error: 'expired',
          final: true
        })
      }
    ])
    cursor = log.latestId()
    const recordId = Number(
      t.db
        .prepare(
          `INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, x'00', 1, 'now')`
        )
        .run('b'.repeat(64)).lastInsertRowid
    )
    shares.insert({
      shareId: '2'.repeat(32),
      direction: 'in',
      recordId,
      dataHash: 'b'.repeat(64),
      sender: 'S',
      recipient: 'R',
      tier: 'high',
      state: 'received',
      receipt: RECEIPT
    })
    expect(since(cursor)).toEqual([
      {
        type: 'share.received',
        data: {
          share_id: '2'.repeat(32),
          direction: 'in',
          data_hash: 'b'.repeat(64),
          sender: 'S',
          recipient: 'R',
          tier: 'high',
          state: 'received'
        }
      }
    ])
  })

  it('reports an unresolved share that found its node as share.resolved, with the PeerId as recipient', () => {
    const { log, shares, since } = setup()
    const shareId = t.share()
    const address = '0x' + 'ab'.repeat(20)
    t.db
      .prepare(
        `UPDATE shares SET state = 'unresolved', recipient = ?, recipient_label = ? WHERE share_id = ?`
      )
      .run(address, address, shareId)
    let cursor = log.latestId()
    shares.markLookupAgain(shareId, 5_000, 'RecipientNotRegisteredError: nobody registered it')
    expect(since(cursor)).toEqual([])
    cursor = log.latestId()
    expect(shares.markResolved(shareId, PEER, 6_000)?.state).toBe('queued')
    expect(since(cursor)).toEqual([
      {
        type: 'share.resolved',
        data: expect.objectContaining({
          share_id: shareId,
          recipient: PEER,
          recipient_label: address,
          state: 'queued'
        })
      }
    ])
  })

  it('reports audit events sent, confirmed and taken away by a chain reset, one per outbox row', () => {
    const { log, since } = setup()
    const { outbox, batches } = t.repos
    const shareId = t.share()
    const single = outbox.enqueue({
      kind: 'share',
      shareId,
      dataHash: hex(1),
      payload: '{}',
      leaf: hex(2)
    }) as number
    const other = t.share()
    const batched = outbox.enqueue({
      kind: 'share',
      shareId: other,
      dataHash: hex(3),
      payload: '{}',
      leaf: hex(4)
    })
    let cursor = log.latestId()
    expect(since(0).map((e) => e.type)).toEqual(['share.accepted', 'share.accepted'])
    outbox.markSent(single, `0x${'a'.repeat(64)}`, 7)
    outbox.markSent(single, `0x${'a'.repeat(64)}`, 7)
    outbox.markSent(single, `0x${'b'.repeat(64)}`, 7)
    outbox.markConfirmed(single, `0x${'b'.repeat(64)}`, 12)
    expect(since(cursor)).toEqual([
      {
        type: 'audit.sent',
        data: expect.objectContaining({
          outbox_id: single,
          kind: 'share',
          share_id: shareId,
          tx_hash: `0x${'a'.repeat(64)}`
        })
      },
      {
        type: 'audit.sent',
        data: expect.objectContaining({ outbox_id: single, tx_hash: `0x${'b'.repeat(64)}` })
      },
      {
        type: 'audit.confirmed',
        data: expect.objectContaining({
          outbox_id: single,
          share_id: shareId,
          data_hash: hex(1),
          tx_hash: `0x${'b'.repeat(64)}`,
          block_number: 12
        })
      }
    ])
    cursor = log.latestId()
    const batch = batches.form(10, () => hex(9)) as number
    batches.markSent(batch, `0x${'c'.repeat(64)}`)
    batches.markConfirmed(batch, `0x${'c'.repeat(64)}`, 13)
    expect(since(cursor)).toEqual([
      {
        type: 'audit.sent',
        data: expect.objectContaining({ outbox_id: batched, share_id: other, batch_id: batch })
      },
      {
        type: 'audit.confirmed',
        data: expect.objectContaining({ outbox_id: batched, batch_id: batch, block_number: 13 })
      }
    ])
    cursor = log.latestId()
    outbox.requeueLostConfirmed('chain_reset: the genesis block changed')
    expect(since(cursor)).toEqual([
      {
        type: 'audit.chain_reset',
        data: expect.objectContaining({
          outbox_id: single,
          share_id: shareId,
          state: 'pending',
          tx_hash: `0x${'b'.repeat(64)}`,
          block_number: 12,
          last_error: 'chain_reset: the genesis block changed'
        })
      },
      {
        type: 'audit.chain_reset',
        data: expect.objectContaining({
          outbox_id: batched,
          tx_hash: `0x${'c'.repeat(64)}`,
          block_number: 13
        })
      }
    ])
  })

  it('reports a verified peer and every security log row as security.<kind>', () => {
    const { log, since } = setup()
    const peers = new PeerRepository(t.db)
    peers.ensure(PEER)
    peers.setAddresses(PEER, ['/ip4/127.0.0.1/tcp/1'])
    expect(since(0)).toEqual([])
    peers.setCertificate(PEER, {
      certificatePem: '-----BEGIN CERTIFICATE-----',
      signingKeyFpr: 'a'.repeat(64),
      encryptionKeyFpr: 'b'.repeat(64),
      ethAddress: `0x${'cd'.repeat(20)}`,
      trust: 'pinned'
    })
    expect(since(0)).toEqual([
      {
        type: 'peer.verified',
        data: { peer_id: PEER, trust: 'pinned', status: 'active', eth_address: `0x${'cd'.repeat(20)}` }
      }
    ])
    const cursor = log.latestId()
    t.repos.securityLog.append((head) => ({
      seq: (head?.seq ?? 0) + 1,
      at: new Date().toISOString(),
      kind: 'auth.failure',
      detail: '{"client":"127.0.0.1","reason":"unknown_key"}',
      prev_hash: hex(0),
      hash: hex(1)
    }))
    expect(since(cursor)).toEqual([
      { type: 'security.auth.failure', data: { client: '127.0.0.1', reason: 'unknown_key', log_seq: 1 } }
    ])
  })
})
