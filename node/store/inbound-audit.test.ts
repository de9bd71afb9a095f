import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import { AuditEventRepository, type AuditEventRow } from './audit-events.ts'
import { type Db, openDatabase } from './database.ts'
import { checkInboundAuditTriggers, INBOUND_AUDIT_TRIGGERS, RECEIPT_EVENT } from './inbound-audit.ts'
import { migrate, readMigrations } from './migrations.ts'
import { StoreService } from './store-service.ts'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
const dirs: string[] = []
const opened: Db[] = []
afterEach(() => {
  t?.remove()
  for (const db of opened.splice(0)) if (db.open) db.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-inbound-'))
  dirs.push(dir)
  return dir
}

const hex = (c: string) => c.repeat(64)
const SHARE = '1'.repeat(32)
const RECEIPT = '{"body":{},"signature":"c2ln"}'

function received(shareId: string, createdAt = new Date().toISOString(), db: Db = t.db) {
  const record = db
    .prepare(
      'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, 1, ?)'
    )
    .run(hex(shareId[0] as string), Buffer.from('x'), createdAt).lastInsertRowid
  db.prepare(
    `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, receipt,
         created_at, updated_at) VALUES (?, 'in', ?, ?, 'S', 'R', 'high', 'received', ?, ?, ?)`
  ).run(shareId, record, hex(shareId[0] as string), Buffer.from(RECEIPT), createdAt, createdAt)
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

/**
 * The statement `outstandingShareIds` ran before migration 0017: every inbound share, less those
 * with an attributed receipt anchor, read from shares and audit_events themselves.
 */
function scanned(db: Db, since: string, limit: number): string[] {
  return (
    db
      .prepare(
        `SELECT s.share_id FROM shares s
         WHERE s.direction = 'in' AND s.created_at >= @since
           AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.share_id = s.share_id
             AND ${RECEIPT_EVENT} AND a.sender IS NOT NULL)
         ORDER BY s.created_at DESC, s.share_id LIMIT @limit`
      )
      .all({ since, limit }) as { share_id: string }[]
  ).map((r) => r.share_id)
}

const EPOCH = new Date(0).toISOString()

describe('the inbound shares waiting for their audit (migration 0017)', () => {
  const [A, B, C, D, E, OLD] = ['4', '5', '6', '7', '8', '9'].map((c) => c.repeat(32)) as [
    string,
    string,
    string,
    string,
    string,
    string
  ]
  const NOW = '2026-06-02T00:00:00.000Z'
  const SINCE = '2026-06-01T00:00:00.000Z'

  /** Compares the table's answer with the scan's over several windows and limits; returns the whole list. */
  function same(): string[] {
    for (const since of [EPOCH, SINCE, NOW, '2999-01-01T00:00:00.000Z']) {
      for (const limit of [1, 2, 3, 100]) {
        expect(
          t.repos.inbound.outstandingShareIds({ since, limit }),
          `since ${since}, limit ${limit}`
        ).toEqual(scanned(t.db, since, limit))
      }
    }
    return t.repos.inbound.outstandingShareIds({ since: EPOCH, limit: 100 })
  }

  it('answers exactly as the scan of every inbound share did, through attribution, reorgs and rebuilds', () => {
    t = auditTestDb()
    // A and B share a time (ties go by share id); OLD is before the window.
    received(A, NOW)
    received(B, NOW)
    received(C, '2026-06-03T00:00:00.000Z')
    received(D, '2026-06-01T12:00:00.000Z')
    received(OLD, '2026-01-01T00:00:00.000Z')
    // An outgoing share never waits, whatever its events.
    const sent = t.share()
    expect(same()).toEqual([C, A, B, D, OLD])

    // A record's event does not count, attributed or not.
    t.repos.events.add(event({ shareId: A, txHash: '0xa1', blockNumber: 1 }))
    t.repos.events.add(event({ shareId: B, txHash: '0xb1', blockNumber: 1, logIndex: 1, sender: 'S' }))
    t.repos.inbound.attribute(attribution('0xa1'))
    expect(same()).toEqual([C, A, B, D, OLD])

    // A receipt anchor indexed but not attributed: still waiting; attributed: no longer.
    t.repos.events.add(event({ eventName: 'ReceiptAnchored', shareId: A, txHash: '0xa2', blockNumber: 3 }))
    expect(same()).toEqual([C, A, B, D, OLD])
    expect(t.repos.inbound.attribute(attribution('0xa2'))).toBe(true)
    expect(same()).toEqual([C, B, D, OLD])

    // A receipt's batch leaf indexed attributed (the sender's evidence) counts at once; the
    // record's leaf, or a leaf with no sender, does not.
    const leaf = (
      shareId: string,
      block: number,
      leafIndex: number,
      receiptHash: string | null,
      sender: string | null
    ) =>
      t.repos.events.add(
        event({
          eventName: 'BatchLeaf',
          shareId,
          txHash: `0xleaf${block}`,
          blockNumber: block,
          leafIndex,
          receiptHash,
          sender
        })
      )
    leaf(B, 4, 0, null, 'S')
    leaf(B, 4, 1, hex('d'), null)
    expect(same()).toEqual([C, B, D, OLD])
    leaf(B, 4, 2, hex('d'), 'S')
    expect(same()).toEqual([C, D, OLD])

    // D has two attributed receipt anchors, in blocks 2 and 6. Anchors of a share this node sent and
    // of one it does not hold change nothing.
    t.repos.events.add(event({ eventName: 'ReceiptAnchored', shareId: D, txHash: '0xd2', blockNumber: 2 }))
    t.repos.inbound.attribute(attribution('0xd2'))
    leaf(D, 6, 0, hex('e'), 'S')
    t.repos.events.add(
      event({ eventName: 'ReceiptAnchored', shareId: sent, txHash: '0xs', blockNumber: 5, sender: 'S' })
    )
    t.repos.events.add(
      event({
        eventName: 'ReceiptAnchored',
        shareId: '3'.repeat(32),
        txHash: '0xn',
        blockNumber: 5,
        sender: 'S'
      })
    )
    expect(same()).toEqual([C, OLD])

    // A reorg takes block 6 away: D keeps its anchor of block 2.
    expect(t.repos.events.deleteFromBlock(6)).toBe(1)
    expect(same()).toEqual([C, OLD])
    // A deeper one takes A's and B's anchors (and the rest of blocks 3 on) but leaves D's of block 2.
    leaf(D, 6, 0, hex('e'), 'S')
    expect(t.repos.events.deleteFromBlock(3)).toBe(7)
    expect(same()).toEqual([C, A, B, OLD])
    // One statement deleting both of a share's anchors puts it back.
    leaf(D, 6, 0, hex('e'), 'S')
    expect(t.repos.events.deleteFromBlock(2)).toBe(2)
    expect(same()).toEqual([C, A, B, D, OLD])

    // An anchor indexed attributed before its share arrives: the share never waits.
    t.repos.events.add(
      event({ eventName: 'ReceiptAnchored', shareId: E, txHash: '0xe', blockNumber: 7, sender: 'S' })
    )
    received(E, NOW)
    expect(same()).toEqual([C, A, B, D, OLD])

    // Emptied for a rebuild: everything waits again; re-indexed and attributed: A does not.
    t.repos.events.clear()
    expect(same()).toEqual([C, A, B, E, D, OLD])
    t.repos.events.add(event({ eventName: 'ReceiptAnchored', shareId: A, txHash: '0xa2', blockNumber: 3 }))
    t.repos.inbound.attribute(attribution('0xa2'))
    expect(same()).toEqual([C, B, E, D, OLD])

    // Writes no path of the node makes are kept too: an attribution taken back, a share's time or
    // id changed, a share deleted.
    t.db.prepare(`UPDATE audit_events SET sender = NULL WHERE tx_hash = '0xa2'`).run()
    expect(same()).toEqual([C, A, B, E, D, OLD])
    t.db.prepare(`UPDATE audit_events SET sender = 'S' WHERE tx_hash = '0xa2'`).run()
    t.db.prepare(`UPDATE audit_events SET event_name = 'ShareRecorded' WHERE tx_hash = '0xa2'`).run()
    expect(same()).toEqual([C, A, B, E, D, OLD])
    t.db.prepare(`UPDATE audit_events SET event_name = 'ReceiptAnchored' WHERE tx_hash = '0xa2'`).run()
    t.db.prepare(`UPDATE audit_events SET share_id = ? WHERE tx_hash = '0xa2'`).run(B)
    expect(same()).toEqual([C, A, E, D, OLD])
    t.db.prepare(`UPDATE shares SET created_at = '2025-01-01T00:00:00.000Z' WHERE share_id = ?`).run(C)
    expect(same()).toEqual([A, E, D, OLD, C])
    t.db.prepare(`UPDATE shares SET direction = 'out' WHERE share_id = ?`).run(D)
    expect(same()).toEqual([A, E, OLD, C])
    t.db.prepare(`UPDATE shares SET direction = 'in' WHERE share_id = ?`).run(D)
    expect(same()).toEqual([A, E, D, OLD, C])
    t.db.prepare('DELETE FROM shares WHERE share_id = ?').run(E)
    t.db.prepare('DELETE FROM shares WHERE share_id = ?').run(sent)
    expect(same()).toEqual([A, D, OLD, C])
  })

  it('reads the waiting shares by its index, not by a scan', () => {
    t = auditTestDb()
    const plan = t.db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT share_id FROM inbound_audit_pending WHERE created_at >= ?
         ORDER BY created_at DESC, share_id LIMIT 1`
      )
      .all(SINCE) as { detail: string }[]
    expect(plan.map((r) => r.detail)).toEqual([
      'SEARCH inbound_audit_pending USING COVERING INDEX inbound_audit_pending_created (created_at>?)'
    ])
  })

  it('fills the table from the shares already received when it migrates', () => {
    const db = openDatabase(join(tempDir(), 'node.db'))
    opened.push(db)
    migrate(
      db,
      readMigrations().filter((m) => m.version < 17)
    )
    const events = new AuditEventRepository(db)
    // A waits with no event; B with an unattributed anchor; C with only an attributed record's
    // event; D and E have an attributed anchor (its own event, a batch leaf); OLD is before the window.
    received(A, NOW, db)
    received(B, NOW, db)
    received(C, '2026-06-03T00:00:00.000Z', db)
    received(D, NOW, db)
    received(E, NOW, db)
    received(OLD, '2026-01-01T00:00:00.000Z', db)
    events.add(event({ eventName: 'ReceiptAnchored', shareId: B, txHash: '0xb' }))
    events.add(event({ shareId: C, txHash: '0xc', sender: 'S' }))
    events.add(event({ eventName: 'ReceiptAnchored', shareId: D, txHash: '0xd', sender: 'S' }))
    events.add(
      event({
        eventName: 'BatchLeaf',
        shareId: E,
        txHash: '0xe',
        leafIndex: 1,
        receiptHash: hex('e'),
        sender: 'S'
      })
    )
    const before = scanned(db, EPOCH, 100)
    expect(before).toEqual([C, A, B, OLD])

    expect(migrate(db).map((m) => m.version)).toContain(17)
    expect(
      db.prepare('SELECT share_id, created_at FROM inbound_audit_pending ORDER BY share_id').all()
    ).toEqual([
      { share_id: A, created_at: NOW },
      { share_id: B, created_at: NOW },
      { share_id: C, created_at: '2026-06-03T00:00:00.000Z' },
      { share_id: OLD, created_at: '2026-01-01T00:00:00.000Z' }
    ])
    expect(() => checkInboundAuditTriggers(db)).not.toThrow()
    // And the triggers keep it from there: B's anchor attributed, D's forgotten.
    db.prepare(`UPDATE audit_events SET sender = 'S' WHERE tx_hash = '0xb'`).run()
    db.prepare(`DELETE FROM audit_events WHERE tx_hash = '0xd'`).run()
    expect(db.prepare('SELECT share_id FROM inbound_audit_pending ORDER BY share_id').pluck().all()).toEqual([
      A,
      C,
      D,
      OLD
    ])
    expect(
      db
        .prepare('SELECT share_id FROM inbound_audit_pending ORDER BY created_at DESC, share_id')
        .pluck()
        .all()
    ).toEqual(scanned(db, EPOCH, 100))
  })

  it('refuses a database whose triggers for the table a later rebuild dropped, and so does the store', () => {
    t = auditTestDb()
    expect(() => checkInboundAuditTriggers(t.db)).not.toThrow()
    // The guard knows every trigger the migration creates for the table.
    const created = t.db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'inbound\\_pending\\_%' ESCAPE '\\'`
      )
      .pluck()
      .all() as string[]
    expect([...INBOUND_AUDIT_TRIGGERS].sort()).toEqual(created.sort())
    t.db.exec('DROP TRIGGER inbound_pending_receipt_deleted')
    expect(() => checkInboundAuditTriggers(t.db)).toThrow(
      expect.objectContaining({ name: 'InboundAuditTriggersMissingError' })
    )

    const dir = tempDir()
    const db = openDatabase(join(dir, 'node.db'))
    migrate(db)
    db.exec('DROP TRIGGER inbound_pending_share_received')
    db.close()
    const store = new StoreService(
      { logger: createLogger({ level: 'silent' }) },
      { dataDir: dir, synchronous: 'FULL', busyTimeoutMs: 1_000 }
    )
    expect(() => store.start()).toThrow(expect.objectContaining({ name: 'InboundAuditTriggersMissingError' }))
  })
})
