import { afterEach, describe, expect, it } from 'vitest'
import type { AuditEventRow } from './audit-events.ts'
import { type AuditTestDb, auditTestDb } from './test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

const hex = (c: string) => c.repeat(64)

function event(fields: Partial<AuditEventRow> = {}): AuditEventRow {
  return {
    eventName: 'ShareRecorded',
    shareId: '1'.repeat(32),
    dataHash: hex('d'),
    sender: 'S',
    recipient: 'R',
    senderHash: hex('a'),
    recipientHash: hex('b'),
    tier: 'standard',
    timestampMs: 1_000,
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

describe('audit event repository', () => {
  it('indexes an event once per transaction, log and leaf, also when it is no batch leaf', () => {
    t = auditTestDb()
    const events = t.repos.events
    expect(events.has('0xt1', 0)).toBe(false)
    expect(events.add(event())).toBe(true)
    expect(events.add(event())).toBe(false)
    expect(events.has('0xt1', 0)).toBe(true)
    expect(events.has('0xt1', 1)).toBe(false)
    const anchored = event({ eventName: 'BatchAnchored', txHash: '0xt2', root: hex('r'), shareId: null })
    expect(events.add(anchored)).toBe(true)
    expect(events.add({ ...anchored, eventName: 'BatchLeaf', leafIndex: 0 })).toBe(true)
    expect(events.add({ ...anchored, eventName: 'BatchLeaf', leafIndex: 1 })).toBe(true)
    expect(events.add({ ...anchored, eventName: 'BatchLeaf', leafIndex: 1 })).toBe(false)
  })

  it('pages share events by place on chain and filters them by name before the limit', () => {
    t = auditTestDb()
    const events = t.repos.events
    events.add(event({ txHash: '0xa', blockNumber: 1, logIndex: 0 }))
    events.add(event({ eventName: 'ReceiptAnchored', txHash: '0xb', blockNumber: 1, logIndex: 1 }))
    events.add(event({ eventName: 'BatchLeaf', txHash: '0xc', blockNumber: 2, logIndex: 0, leafIndex: 0 }))
    events.add(event({ eventName: 'BatchLeaf', txHash: '0xc', blockNumber: 2, logIndex: 0, leafIndex: 1 }))
    events.add(event({ txHash: '0xd', blockNumber: 3, logIndex: 0 }))
    const place = (r: { blockNumber: number; logIndex: number; leafIndex: number | null }) => ({
      blockNumber: r.blockNumber,
      logIndex: r.logIndex,
      leafIndex: r.leafIndex
    })
    const seen: string[] = []
    let before: ReturnType<typeof place> | undefined
    for (;;) {
      const page = events.shareEvents({ limit: 2, offset: 0, before })
      seen.push(...page.map((r) => `${r.txHash}/${r.leafIndex}`))
      const last = page[page.length - 1]
      if (page.length < 2 || !last) break
      before = place(last)
    }
    expect(seen).toEqual(['0xd/null', '0xc/1', '0xc/0', '0xb/null', '0xa/null'])
    // A leaf's place and a plain event's place both work as the cursor.
    expect(
      events.shareEvents({ limit: 10, offset: 0, before: { blockNumber: 2, logIndex: 0, leafIndex: 1 } })
        .length
    ).toBe(3)
    expect(
      events
        .shareEvents({
          limit: 1,
          offset: 0,
          eventNames: ['ShareRecorded'],
          before: { blockNumber: 3, logIndex: 0, leafIndex: null }
        })
        .map((r) => r.txHash)
    ).toEqual(['0xa'])
  })

  it('answers share events newest first, with leaf indexes only for batch leaves', () => {
    t = auditTestDb()
    const events = t.repos.events
    events.add(event({ blockNumber: 1 }))
    events.add(event({ eventName: 'NodeRegistered', txHash: '0xn', blockNumber: 2, shareId: null }))
    events.add(event({ eventName: 'BatchLeaf', txHash: '0xt3', blockNumber: 3, leafIndex: 0 }))
    events.add(event({ eventName: 'BatchLeaf', txHash: '0xt3', blockNumber: 3, leafIndex: 1 }))
    const rows = events.shareEvents({ limit: 10, offset: 0 })
    expect(rows.map((r) => [r.eventName, r.blockNumber, r.leafIndex])).toEqual([
      ['BatchLeaf', 3, 1],
      ['BatchLeaf', 3, 0],
      ['ShareRecorded', 1, null]
    ])
    expect(events.shareEvents({ limit: 1, offset: 1 }).map((r) => r.leafIndex)).toEqual([0])
    expect(rows[2]).toEqual({ ...event({ blockNumber: 1 }), recipientLabel: null })
  })

  it('filters by data hash, party hashes, tier and time, inclusive', () => {
    t = auditTestDb()
    const events = t.repos.events
    events.add(event({ txHash: '0x1', blockNumber: 1, timestampMs: 1_000 }))
    events.add(
      event({ txHash: '0x2', blockNumber: 2, timestampMs: 2_000, tier: 'high', senderHash: hex('c') })
    )
    events.add(
      event({
        txHash: '0x3',
        blockNumber: 3,
        timestampMs: 3_000,
        dataHash: hex('e'),
        recipientHash: hex('f')
      })
    )
    const txs = (q: Parameters<typeof events.shareEvents>[0]) => events.shareEvents(q).map((r) => r.txHash)
    const page = { limit: 10, offset: 0 }
    expect(txs({ ...page, dataHash: hex('d') })).toEqual(['0x2', '0x1'])
    expect(txs({ ...page, senderHash: hex('c') })).toEqual(['0x2'])
    expect(txs({ ...page, recipientHash: hex('f') })).toEqual(['0x3'])
    expect(txs({ ...page, tier: 'high' })).toEqual(['0x2'])
    expect(txs({ ...page, fromMs: 2_000, toMs: 3_000 })).toEqual(['0x3', '0x2'])
    events.clear()
    expect(txs(page)).toEqual([])
  })

  it('lists only attributed events, with the recipient as the client named it for a share this node sent', () => {
    t = auditTestDb()
    const events = t.repos.events
    const shareId = t.share()
    t.db.prepare(`UPDATE shares SET recipient_label = '0xAbC' WHERE share_id = ?`).run(shareId)
    events.add(event({ shareId, txHash: '0xown' }))
    events.add(event({ shareId, txHash: '0xforged', sender: null, recipient: null, blockNumber: 2 }))
    events.add(event({ shareId: '9'.repeat(32), txHash: '0xother', blockNumber: 3 }))
    const rows = events.shareEvents({ limit: 10, offset: 0 })
    expect(rows.map((r) => [r.txHash, r.recipientLabel])).toEqual([
      ['0xother', null],
      ['0xown', '0xAbC']
    ])
  })

  it('forgets the events of a block and later, keeping those before it', () => {
    t = auditTestDb()
    const events = t.repos.events
    for (const block of [1, 2, 3]) events.add(event({ txHash: `0xt${block}`, blockNumber: block }))
    expect(events.deleteFromBlock(2)).toBe(2)
    expect(events.shareEvents({ limit: 10, offset: 0 }).map((e) => [e.txHash, e.blockNumber])).toEqual([
      ['0xt1', 1]
    ])
  })
})

describe('audit event repository: keyset pages', () => {
  it('answers the events before a position by block, log index and leaf index, filtered by name in the query', () => {
    t = auditTestDb()
    const events = t.repos.events
    events.add(event({ txHash: '0xa', blockNumber: 1, logIndex: 0 }))
    events.add(event({ eventName: 'ReceiptAnchored', txHash: '0xb', blockNumber: 2, logIndex: 0 }))
    events.add(event({ txHash: '0xc', blockNumber: 2, logIndex: 1 }))
    events.add(event({ eventName: 'BatchLeaf', txHash: '0xd', blockNumber: 3, logIndex: 0, leafIndex: 0 }))
    events.add(event({ eventName: 'BatchLeaf', txHash: '0xd', blockNumber: 3, logIndex: 0, leafIndex: 1 }))
    const key = (r: AuditEventRow) => [r.blockNumber, r.logIndex, r.leafIndex]
    // Page by page with a limit of 2: every event once, newest first.
    const seen: unknown[] = []
    let before: { blockNumber: number; logIndex: number; leafIndex: number | null } | undefined
    for (;;) {
      const page = events.shareEvents({ limit: 2, offset: 0, ...(before ? { before } : {}) })
      seen.push(...page.map(key))
      const last = page[page.length - 1]
      if (page.length < 2 || !last) break
      before = { blockNumber: last.blockNumber, logIndex: last.logIndex, leafIndex: last.leafIndex }
    }
    expect(seen).toEqual([
      [3, 0, 1],
      [3, 0, 0],
      [2, 1, null],
      [2, 0, null],
      [1, 0, null]
    ])
    // A position of a non-leaf event sorts as leaf index -1: its block's other logs still follow.
    const afterLog1 = events.shareEvents({
      limit: 10,
      offset: 0,
      before: { blockNumber: 2, logIndex: 1, leafIndex: null }
    })
    expect(afterLog1.map(key)).toEqual([
      [2, 0, null],
      [1, 0, null]
    ])
    // Names filter in the query, so a page holds `limit` matching events.
    const recorded = events.shareEvents({ limit: 2, offset: 0, eventNames: ['ShareRecorded'] })
    expect(recorded.map((r) => r.txHash)).toEqual(['0xc', '0xa'])
    expect(events.shareEvents({ limit: 5, offset: 0, eventNames: [] })).toEqual([])
  })
})
