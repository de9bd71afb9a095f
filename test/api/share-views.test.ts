import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createExternalApp } from '../../api/external-app.ts'
import { encodeCursor } from '../../api/paging.ts'
import { HELLO_HASH } from '../../api/test-support/external-fixture.ts'
import { createHarness, type Harness, PEER_B } from '../../api/test-support/fakes.ts'
import { send } from '../../api/test-support/request.ts'
import { createShareService } from '../../node/p2p/index.ts'
import { ShareRepository } from '../../node/store/shares.ts'
import { startNode, type TestNode, tempDir } from '../p2p/helpers.ts'

/**
 * The share JSON of `/v1/shares` and `/v1/shares/{id}` as the node's own share service answers it,
 * from a real SQLite file (shares, their outbox entries, batches and indexed chain events) under a
 * running P2P node, pinned to the byte: the share's walk out of the store must not change a character.
 */

const SENDER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const ADDRESS = '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01'
const id = (digit: string) => digit.repeat(32)
const hash = (digit: string) => digit.repeat(64)
const at = (minute: number) => `2026-11-23T10:${String(minute).padStart(2, '0')}:00.000Z`

describe('share views from the store', () => {
  const dir = tempDir('share-views')
  let node: TestNode
  let h: Harness
  let app: ReturnType<typeof createExternalApp>
  let key: string

  beforeAll(async () => {
    node = await startNode(dir.path)
    const self = node.p2p.peerId
    const { db } = node
    const record = (digit: string) =>
      Number(
        db
          .prepare(
            `INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, x'00', 1, ?)`
          )
          .run(hash(digit), at(0)).lastInsertRowid
      )
    const share = db.prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, recipient_label, tier, state,
         receipt, attempts, next_attempt_ms, expires_ms, last_error, created_at, updated_at)
       VALUES (@shareId, @direction, @recordId, @dataHash, @sender, @recipient, @label, @tier, @state,
         @receipt, @attempts, @next, NULL, @lastError, @createdAt, @updatedAt)`
    )
    const receipt = (shareId: string, dataHash: string, sender: string, recipient: string) =>
      Buffer.from(
        JSON.stringify({
          body: { v: 1, shareId, dataHash, sender, recipient, tier: 'high', receivedAt: 1_795_000_000_000 },
          signature: 'c2lnbmF0dXJl'
        })
      )
    const base = { label: null, tier: 'standard', receipt: null, attempts: 0, next: null, lastError: null }
    // Delivered: its share event is confirmed in a batch, its receipt's event sent on its own.
    share.run({
      ...base,
      shareId: id('1'),
      direction: 'out',
      recordId: record('a'),
      dataHash: hash('a'),
      sender: self,
      recipient: PEER_B,
      tier: 'high',
      state: 'delivered',
      receipt: receipt(id('1'), hash('a'), self, PEER_B),
      attempts: 2,
      createdAt: at(1),
      updatedAt: at(2)
    })
    // Queued to a recipient named by address, due far in the future (the worker leaves it alone).
    share.run({
      ...base,
      shareId: id('2'),
      direction: 'out',
      recordId: record('b'),
      dataHash: hash('b'),
      sender: self,
      recipient: PEER_B,
      label: ADDRESS,
      state: 'queued',
      next: 9_000_000_000_000,
      createdAt: at(3),
      updatedAt: at(3)
    })
    // Failed with its last error; its share event failed too.
    share.run({
      ...base,
      shareId: id('3'),
      direction: 'out',
      recordId: record('c'),
      dataHash: hash('c'),
      sender: self,
      recipient: PEER_B,
      tier: 'maximum',
      state: 'failed',
      attempts: 5,
      lastError: 'RecipientUnreachableError: cannot reach the peer',
      createdAt: at(4),
      updatedAt: at(5)
    })
    // Received and anchored by its sender, as this node's index of the chain saw it.
    share.run({
      ...base,
      shareId: id('4'),
      direction: 'in',
      recordId: record('d'),
      dataHash: hash('d'),
      sender: SENDER,
      recipient: self,
      tier: 'high',
      state: 'received',
      receipt: receipt(id('4'), hash('d'), SENDER, self),
      createdAt: at(6),
      updatedAt: at(6)
    })
    // Received, not yet anchored.
    share.run({
      ...base,
      shareId: id('5'),
      direction: 'in',
      recordId: record('e'),
      dataHash: hash('e'),
      sender: SENDER,
      recipient: self,
      state: 'received',
      receipt: receipt(id('5'), hash('e'), SENDER, self),
      createdAt: at(7),
      updatedAt: at(7)
    })
    const batch = Number(
      db
        .prepare(
          `INSERT INTO audit_batches (root, count, state, tx_hash, created_at, updated_at) VALUES (?, 1, 'confirmed', ?, ?, ?)`
        )
        .run(hash('f'), `0x${'b'.repeat(64)}`, at(2), at(2)).lastInsertRowid
    )
    const outbox = db.prepare(
      `INSERT INTO outbox (kind, share_id, data_hash, payload, state, tx_hash, batch_id, created_at, updated_at)
       VALUES (?, ?, ?, '{}', ?, ?, ?, ?, ?)`
    )
    outbox.run('share', id('1'), hash('a'), 'confirmed', null, batch, at(1), at(2))
    outbox.run('receipt', id('1'), hash('a'), 'sent', `0x${'c'.repeat(64)}`, null, at(2), at(2))
    outbox.run('share', id('2'), hash('b'), 'pending', null, null, at(3), at(3))
    outbox.run('share', id('3'), hash('c'), 'failed', null, null, at(4), at(5))
    const event = db.prepare(
      // Attributed to the share's sender (sender filled), as the recipient's index records them.
      `INSERT INTO audit_events (event_name, share_id, sender, tx_hash, block_number, log_index, args) VALUES (?, ?, ?, ?, ?, 0, '{}')`
    )
    event.run('ShareRecorded', id('4'), SENDER, `0x${'d'.repeat(64)}`, 9)
    event.run('ReceiptAnchored', id('4'), SENDER, `0x${'e'.repeat(64)}`, 7)

    h = createHarness()
    const shares = createShareService({
      p2p: node.p2p,
      shares: () => new ShareRepository(db),
      auditMode: 'per-share'
    })
    app = createExternalApp(
      { ...h.ports, shares },
      { rateLimit: { perSecond: 1000, burst: 1000 }, trustedProxies: [], bodyLimitBytes: 1_200_000 }
    )
    key = h.ports.apiKeys.create({ name: 'writer', scopes: ['share', 'read'] }).key
  })

  afterAll(async () => {
    await node?.stop()
    h?.close()
    dir.remove()
  })

  /** The JSON of one share as both endpoints answer it. */
  const view = (
    digit: string,
    fields: {
      direction: 'out' | 'in'
      dataHash: string
      sender: string
      recipient: string
      label?: string
      tier: string
      delivery: string
      audit: string
      tx: string | null
      attempts?: number
      lastError?: string
      createdAt: string
      updatedAt: string
    }
  ) => ({
    id: id(digit),
    direction: fields.direction,
    data_hash: fields.dataHash,
    sender: fields.sender,
    recipient: fields.recipient,
    recipient_label: fields.label ?? fields.recipient,
    security_tier: fields.tier,
    status: { delivery: fields.delivery, audit: fields.audit },
    tx_hash: fields.tx,
    tx_hash_pending_reason:
      fields.tx !== null
        ? null
        : fields.direction === 'in'
          ? 'anchored_by_sender'
          : fields.audit === 'failed'
            ? 'audit_failed'
            : 'awaiting_chain',
    attempts: fields.attempts ?? 0,
    last_error: fields.lastError ?? null,
    created_at: fields.createdAt,
    updated_at: fields.updatedAt
  })

  const expected = () => {
    const self = node.p2p.peerId
    return {
      delivered: view('1', {
        direction: 'out',
        dataHash: hash('a'),
        sender: self,
        recipient: PEER_B,
        tier: 'high',
        delivery: 'delivered',
        audit: 'sent',
        tx: `0x${'c'.repeat(64)}`,
        attempts: 2,
        createdAt: at(1),
        updatedAt: at(2)
      }),
      queued: view('2', {
        direction: 'out',
        dataHash: hash('b'),
        sender: self,
        recipient: PEER_B,
        label: ADDRESS,
        tier: 'standard',
        delivery: 'queued',
        audit: 'pending',
        tx: null,
        createdAt: at(3),
        updatedAt: at(3)
      }),
      failed: view('3', {
        direction: 'out',
        dataHash: hash('c'),
        sender: self,
        recipient: PEER_B,
        tier: 'maximum',
        delivery: 'failed',
        audit: 'failed',
        tx: null,
        attempts: 5,
        lastError: 'RecipientUnreachableError: cannot reach the peer',
        createdAt: at(4),
        updatedAt: at(5)
      }),
      anchored: view('4', {
        direction: 'in',
        dataHash: hash('d'),
        sender: SENDER,
        recipient: self,
        tier: 'high',
        delivery: 'received',
        audit: 'confirmed',
        tx: `0x${'e'.repeat(64)}`,
        createdAt: at(6),
        updatedAt: at(6)
      }),
      unanchored: view('5', {
        direction: 'in',
        dataHash: hash('e'),
        sender: SENDER,
        recipient: self,
        tier: 'standard',
        delivery: 'received',
        audit: 'pending',
        tx: null,
        createdAt: at(7),
        updatedAt: at(7)
      })
    }
  }
  const metadata = (tier: string | null) => ({ security_tier: tier, attestation: null, api_version: '1' })

  it('lists shares newest first, each with its delivery and audit state, to the byte', async () => {
    const e = expected()
    const all = [e.unanchored, e.anchored, e.failed, e.queued, e.delivered]
    const r = await send(app, '/v1/shares', { key })
    expect(r.status).toBe(200)
    expect(r.text).toBe(
      JSON.stringify({ shares: all, count: 5, next_after: null, _metadata: metadata(null) })
    )
    // Cursors are the store's positions (the rows' order of insertion: shares 1 to 5 are rows 1 to 5).
    const received = await send(app, '/v1/shares?state=received&limit=1', { key })
    expect(received.text).toBe(
      JSON.stringify({
        shares: [e.unanchored],
        count: 1,
        next_after: encodeCursor('shares', [5]),
        _metadata: metadata(null)
      })
    )
    const failed = await send(app, '/v1/shares?state=failed', { key })
    expect(failed.text).toBe(
      JSON.stringify({ shares: [e.failed], count: 1, next_after: null, _metadata: metadata(null) })
    )
    const limited = await send(app, '/v1/shares?limit=2', { key })
    expect(limited.text).toBe(
      JSON.stringify({
        shares: [e.unanchored, e.anchored],
        count: 2,
        next_after: encodeCursor('shares', [4]),
        _metadata: metadata(null)
      })
    )
    const second = await send(app, `/v1/shares?limit=2&after=${encodeCursor('shares', [4])}`, { key })
    expect(second.text).toBe(
      JSON.stringify({
        shares: [e.failed, e.queued],
        count: 2,
        next_after: encodeCursor('shares', [2]),
        _metadata: metadata(null)
      })
    )
    const last = await send(app, `/v1/shares?limit=2&after=${encodeCursor('shares', [2])}`, { key })
    expect(last.text).toBe(
      JSON.stringify({ shares: [e.delivered], count: 1, next_after: null, _metadata: metadata(null) })
    )
  })

  it('reads one share with its delivery and audit state, to the byte, and 404 for an unknown id', async () => {
    const e = expected()
    for (const [digit, share] of [
      ['1', e.delivered],
      ['2', e.queued],
      ['3', e.failed],
      ['4', e.anchored],
      ['5', e.unanchored]
    ] as const) {
      const r = await send(app, `/v1/shares/${id(digit)}`, { key })
      expect(r.status).toBe(200)
      expect(r.text).toBe(JSON.stringify({ share, _metadata: metadata(share.security_tier) }))
    }
    expect((await send(app, `/v1/shares/${id('9')}`, { key })).status).toBe(404)
  })

  it('answers a new share with the row its transaction wrote, on both APIs, to the byte', async () => {
    const self = node.p2p.peerId
    const created = await send(app, '/v1/shares', { body: { data: 'hello', recipient: PEER_B }, key })
    expect(created.status).toBe(201)
    const share = created.json['share'] as Record<string, unknown>
    expect(created.text).toBe(
      JSON.stringify({
        share: {
          id: share['id'],
          direction: 'out',
          data_hash: HELLO_HASH,
          sender: self,
          recipient: PEER_B,
          recipient_label: PEER_B,
          security_tier: 'standard',
          status: { delivery: 'queued', audit: 'pending' },
          tx_hash: null,
          tx_hash_pending_reason: 'awaiting_chain',
          attempts: 0,
          last_error: null,
          created_at: share['created_at'],
          updated_at: share['created_at']
        },
        _metadata: metadata('standard')
      })
    )
    const anchor = await send(app, '/share_data', {
      body: { data: 'hello', recipient: PEER_B, security_tier: 'high' },
      key
    })
    expect(anchor.status).toBe(201)
    expect(anchor.text).toBe(
      JSON.stringify({
        success: true,
        tx_hash: null,
        tx_hash_pending_reason: 'awaiting_chain',
        recipient: PEER_B,
        share_id: anchor.json['share_id'],
        data_hash: HELLO_HASH,
        status: { delivery: 'queued', audit: 'pending' },
        _metadata: metadata('high')
      })
    )
  })
})
