import { generateKeyPairSync } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { verifyIdentityRecord } from '../../node/audit/identity-record.ts'
import type { AuditService } from '../../node/audit/index.ts'
import { auditPorts, peerIdHash, receiptLeaf } from '../../node/audit/index.ts'
import { CHAIN_KINDS, testChain } from './chains.ts'
import {
  auditService,
  boundParties,
  countState,
  fakePeerId,
  freshDeployment,
  queueShare,
  storeReceipt,
  type TempStore,
  tempStore,
  waitFor
} from './helpers.ts'

let store: TempStore
let audit: AuditService
let chainUrl = ''
afterEach(async () => {
  await audit?.stop()
  store?.cleanup()
})

async function startAudit(chainSettings: Record<string, unknown> = {}) {
  store = tempStore()
  const d = await freshDeployment(chainUrl)
  audit = auditService(store.db, store.dir, {
    rpcUrl: chainUrl,
    privateKey: d.privateKey,
    contractAddress: d.record.contractAddress,
    fromBlock: d.record.deployBlock,
    ...chainSettings
  })
  await audit.start()
  return d
}

// One chain per kind; each test deploys its own contract from its own account.
describe.each(CHAIN_KINDS)('audit trail against a local chain (%s)', (kind) => {
  const chain = testChain(kind)
  beforeAll(async () => {
    await chain.start()
    chainUrl = chain.url
  })
  afterAll(() => chain.stop())

  it('publishes a share and its receipt one transaction each and verifies them from the chain (per-share mode)', async () => {
    await startAudit({ mode: 'per-share' })
    const parties = await boundParties(audit, store.db, chain.url)
    const share = queueShare(store.db, { tier: 'high', ...parties.share })
    storeReceipt(store.db, share)
    audit.poke()
    await waitFor(() => countState(store.db, 'confirmed') === 2, 'two confirmed events')

    const result = await audit.verify(share.dataHash)
    expect(result.verified).toBe(true)
    expect(result.shares).toEqual([
      {
        shareId: share.shareId,
        sender: parties.sender.peerId,
        recipient: parties.recipient.peerId,
        tier: 'high',
        verified: true,
        confirmations: expect.any(Number)
      }
    ])
    expect(result.event_type).toBe('ReceiptAnchored')
    const events = result.evidence.map((e) => e.event).sort()
    expect(events).toEqual(['ReceiptAnchored', 'ShareRecorded'])
    for (const e of result.evidence) {
      expect(e.txHash).toMatch(/^0x[0-9a-f]{64}$/)
      expect(e.blockNumber).toBeGreaterThan(0)
      expect(e.confirmations).toBeGreaterThanOrEqual(1)
      expect(e.ok).toBe(true)
    }
    const anchored = result.evidence.find((e) => e.event === 'ReceiptAnchored')
    expect(anchored?.leaf).toBe(anchored?.onChainReceiptHash)

    const unknown = await audit.verify('ab'.repeat(32))
    expect(unknown).toMatchObject({ verified: false, reason: 'not_found', event_type: null, evidence: [] })
  })

  it('announces each outbox entry once, after its confirmation is committed (per-share and batch mode)', async () => {
    for (const mode of ['per-share', 'batch'] as const) {
      await startAudit({ mode, batchSize: 2 })
      const before = queueShare(store.db)
      // A lone leaf waits for a second one in batch mode: flushing sends it now.
      if (mode === 'batch') audit.flush()
      else audit.poke()
      await waitFor(() => countState(store.db, 'confirmed') === 1, 'an event confirmed before listening')
      const seen: { kind: string; shareId: string | null; txHash: string; committed: string }[] = []
      audit.on('audit:confirmed', (entry) => {
        const row = store.db
          .prepare('SELECT state FROM outbox WHERE kind = ? AND share_id = ?')
          .get(entry.kind, entry.shareId) as { state: string }
        seen.push({ kind: entry.kind, shareId: entry.shareId, txHash: entry.txHash, committed: row.state })
      })
      storeReceipt(store.db, before)
      const share = queueShare(store.db)
      audit.poke()
      await waitFor(() => countState(store.db, 'confirmed') === 3, 'the events queued while listening')
      await waitFor(() => seen.length === 2, 'two announcements')
      const txOf = (kind: string, shareId: string) =>
        (
          store.db
            .prepare(
              `SELECT COALESCE(o.tx_hash, b.tx_hash) AS tx FROM outbox o LEFT JOIN audit_batches b ON b.id = o.batch_id
               WHERE o.kind = ? AND o.share_id = ?`
            )
            .get(kind, shareId) as { tx: string }
        ).tx
      expect([...seen].sort((x, y) => x.kind.localeCompare(y.kind))).toEqual([
        {
          kind: 'receipt',
          shareId: before.shareId,
          txHash: txOf('receipt', before.shareId),
          committed: 'confirmed'
        },
        {
          kind: 'share',
          shareId: share.shareId,
          txHash: txOf('share', share.shareId),
          committed: 'confirmed'
        }
      ])
      await audit.stop()
      store.cleanup()
    }
  })

  it('anchors receipts in Merkle batches by size and by flush and proves each one (batch mode)', async () => {
    await startAudit({ mode: 'batch', batchSize: 4 })
    const parties = await boundParties(audit, store.db, chain.url)
    const shares = Array.from({ length: 3 }, () => queueShare(store.db, parties.share))
    for (const s of shares) storeReceipt(store.db, s) // 6 leaves: one batch of 4 by size, 2 left
    audit.poke()
    await waitFor(() => countState(store.db, 'confirmed') === 4, 'the first batch of four')
    expect(countState(store.db, 'pending')).toBe(2)
    audit.flush()
    await waitFor(() => countState(store.db, 'confirmed') === 6, 'the flushed batch')
    const batches = store.db
      .prepare('SELECT count, first_sequence, state FROM audit_batches ORDER BY id')
      .all()
    expect(batches).toEqual([
      { count: 4, first_sequence: 0, state: 'confirmed' },
      { count: 2, first_sequence: 4, state: 'confirmed' }
    ])

    for (const s of shares) {
      const result = await audit.verify(s.dataHash)
      expect(result.verified).toBe(true)
      expect(result.event_type).toBe('BatchAnchored')
      const receiptEvidence = result.evidence.find((e) => e.leaf === receiptLeaf(s.receipt.body))
      expect(receiptEvidence?.proof?.length).toBeGreaterThan(0)
      for (const e of result.evidence) expect(e).toMatchObject({ event: 'BatchAnchored', ok: true })
      // Anyone holding the leaf and proof can check it against the chain.
      const e = result.evidence[0]!
      const check = await audit.verifyProof({
        leaf: e.leaf!,
        leafIndex: e.leafIndex!,
        treeSize: e.treeSize!,
        proof: e.proof!,
        root: e.root!
      })
      expect(check.verified).toBe(true)
    }
  })

  it('fails verification of a tampered receipt and of a tampered share record (per-share mode)', async () => {
    await startAudit({ mode: 'per-share' })
    const parties = await boundParties(audit, store.db, chain.url)
    const a = queueShare(store.db, parties.share)
    storeReceipt(store.db, a)
    audit.poke()
    await waitFor(() => countState(store.db, 'confirmed') === 2, 'per-share events')
    expect((await audit.verify(a.dataHash)).verified).toBe(true)
    tamperPayload(store, 'receipt', a.shareId, (p) => {
      ;(p['body'] as Record<string, unknown>)['receivedAt'] =
        Number((p['body'] as Record<string, unknown>)['receivedAt']) + 1
    })
    const tampered = await audit.verify(a.dataHash)
    expect(tampered).toMatchObject({ verified: false, reason: 'bad_receipt_signature' })
    expect(tampered.evidence.find((e) => e.event === 'ReceiptAnchored')?.ok).toBe(false)

    // Anyone holding the receipt checks it against the chain; a changed field does not verify.
    expect((await audit.verifyReceipt(a.receipt.body)).verified).toBe(true)
    expect((await audit.verifyReceipt({ ...a.receipt.body, recipient: fakePeerId() })).verified).toBe(false)

    const b = queueShare(store.db, parties.share)
    await waitFor(() => countState(store.db, 'confirmed') === 3, 'a third event')
    // Recorded but not yet delivered: the share is on chain, the receipt is missing.
    expect(await audit.verify(b.dataHash)).toMatchObject({ verified: false, reason: 'not_delivered' })
    tamperPayload(store, 'share', b.shareId, (p) => {
      p['timestamp'] = Number(p['timestamp']) - 60_000
    })
    const backdated = await audit.verify(b.dataHash)
    expect(backdated).toMatchObject({ verified: false, reason: 'proof_mismatch' })
    expect(backdated.evidence[0]).toMatchObject({
      event: 'ShareRecorded',
      ok: false,
      reason: 'proof_mismatch'
    })
  })

  it('fails verification of a tampered batched receipt and of a proof with a changed step', async () => {
    await startAudit({ mode: 'batch', batchSize: 8 })
    const parties = await boundParties(audit, store.db, chain.url)
    const shares = Array.from({ length: 4 }, () => queueShare(store.db, parties.share))
    for (const s of shares) storeReceipt(store.db, s)
    audit.poke()
    await waitFor(() => countState(store.db, 'confirmed') === 8, 'a batch of eight')
    const target = shares[2]!
    const good = await audit.verify(target.dataHash)
    expect(good.verified).toBe(true)
    const e = good.evidence.find((x) => x.record && (x.record as { body?: unknown }).body)!
    const bent = [...e.proof!]
    bent[0] = `${bent[0]!.slice(0, 63)}${bent[0]!.endsWith('0') ? '1' : '0'}`
    const proof = { leaf: e.leaf!, leafIndex: e.leafIndex!, treeSize: e.treeSize!, root: e.root! }
    expect((await audit.verifyProof({ ...proof, proof: e.proof! })).verified).toBe(true)
    expect((await audit.verifyProof({ ...proof, proof: bent })).verified).toBe(false)
    expect((await audit.verifyProof({ ...proof, proof: e.proof!, treeSize: 9 })).verified).toBe(false)

    tamperPayload(store, 'receipt', target.shareId, (p) => {
      ;(p['body'] as Record<string, unknown>)['tier'] = 'maximum'
    })
    const tampered = await audit.verify(target.dataHash)
    expect(tampered).toMatchObject({ verified: false, reason: 'receipt_mismatch' })
    expect(tampered.evidence.every((x) => x.ok === false && x.reason === 'receipt_mismatch')).toBe(true)
  })

  it('answers history queries from the event index and rebuilds it from the chain', async () => {
    await startAudit({ mode: 'per-share' })
    const alice = fakePeerId()
    const bob = fakePeerId()
    const s1 = queueShare(store.db, { sender: alice, recipient: bob, tier: 'standard', timestamp: 1_000 })
    const s2 = queueShare(store.db, { sender: bob, recipient: alice, tier: 'maximum', timestamp: 2_000 })
    storeReceipt(store.db, s1)
    audit.poke()
    await waitFor(() => countState(store.db, 'confirmed') === 3, 'three events')

    const byData = audit.history({ dataHash: s1.dataHash })
    expect(byData.map((h) => h.event).sort()).toEqual(['ReceiptAnchored', 'ShareRecorded'])
    expect(audit.history({ sender: alice }).map((h) => h.shareId)).toEqual([s1.shareId, s1.shareId])
    expect(audit.history({ recipient: alice }).map((h) => h.shareId)).toEqual([s2.shareId])
    expect(audit.history({ tier: 'maximum' }).map((h) => h.shareId)).toEqual([s2.shareId])
    expect(audit.history({ from: 1_500, to: 2_500 }).map((h) => h.shareId)).toEqual([s2.shareId])

    const before = audit.history({ limit: 1000 })
    store.db.prepare('DELETE FROM audit_events').run()
    expect(audit.history()).toEqual([])
    await audit.reindex()
    expect(audit.history({ limit: 1000 })).toEqual(before)
  })

  it('anchors the security log head on chain and finds a tampered row by its sequence number', async () => {
    await startAudit({ mode: 'per-share' })
    const log = audit.securityLog
    log.append('auth.failure', { keyId: 'k1', ip: '10.0.0.1' })
    log.append('rate_limit.hit', { ip: '10.0.0.1' })
    log.append('key.rotated', { version: 2 })
    audit.anchorLogNow()
    await waitFor(() => log.anchors().length === 1, 'the log head anchored')
    expect(log.anchors()[0]?.seq).toBe(3)
    log.append('config.changed', { path: 'chain.mode' })
    const ok = await audit.verifyLog()
    expect(ok).toMatchObject({ ok: true, rows: 4, firstBad: null, anchors: { checked: 1, ok: true } })

    store.db.prepare(`UPDATE security_log SET detail = '{"ip":"10.9.9.9"}' WHERE seq = 2`).run()
    const bad = await audit.verifyLog()
    expect(bad.ok).toBe(false)
    expect(bad.firstBad?.seq).toBe(2)
  })

  it('serves the API ports: verification with evidence, compliance history, status and outbox retry', async () => {
    await startAudit({ mode: 'per-share' })
    const parties = await boundParties(audit, store.db, chain.url)
    const ports = auditPorts(audit)
    const share = queueShare(store.db, parties.share)
    storeReceipt(store.db, share)
    audit.poke()
    await waitFor(() => countState(store.db, 'confirmed') === 2, 'two events')
    const v = await ports.audit.verify(share.dataHash)
    expect(v).toMatchObject({
      dataHash: share.dataHash,
      verified: true,
      reason: null,
      eventType: 'ReceiptAnchored',
      shares: [{ shareId: share.shareId, sender: share.sender, recipient: share.recipient, verified: true }],
      refused: []
    })
    expect(v.evidence?.leaf).toBe(`0x${receiptLeaf(share.receipt.body)}`)
    expect(v.evidence?.contractAddress).toBe(audit.contractAddress)
    const events = await ports.audit.complianceHistory({
      eventTypes: ['ShareRecorded'],
      dataHash: share.dataHash,
      limit: 10
    })
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      eventType: 'ShareRecorded',
      shareId: share.shareId,
      sender: share.sender
    })
    const status = await ports.audit.status()
    expect(status).toMatchObject({
      contractAddress: audit.contractAddress,
      chainId: 31337,
      pending: 0,
      failed: 0
    })
    expect(status.latestBlock).toBeGreaterThan(0)

    const later = queueShare(store.db)
    store.db
      .prepare(`UPDATE outbox SET state = 'failed', last_error = 'test' WHERE share_id = ?`)
      .run(later.shareId)
    const [failed] = await ports.outbox.list({ state: 'failed', limit: 10 })
    expect(failed).toMatchObject({ shareId: later.shareId, state: 'failed', lastError: 'test' })
    const retried = await ports.outbox.retry(failed!.id)
    expect(retried.state).toBe('pending')
    await waitFor(() => countState(store.db, 'confirmed') === 3, 'the retried event')
    await expect(ports.outbox.retry(99_999)).rejects.toMatchObject({ name: 'OutboxEntryNotFoundError' })
  })

  it('publishes the identity record once per binding, and again when a key changes', async () => {
    const d = await startAudit({ mode: 'batch' })
    const peerKey = await generateKeyPair('Ed25519')
    const keys = () =>
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
        type: 'spki',
        format: 'pem'
      }) as string
    const signingPublicKeyPem = keys()
    const encryptionPublicKeyPem = keys()
    const first = await audit.registerIdentity({ peerKey, signingPublicKeyPem, encryptionPublicKeyPem })
    expect(await audit.registerIdentity({ peerKey, signingPublicKeyPem, encryptionPublicKeyPem })).toBe(first)
    await waitFor(() => countNodeRows(store.db) === 1, 'the registration')
    const verified = await verifyIdentityRecord(first)
    expect(verified.body).toMatchObject({
      peerId: peerIdFromPrivateKey(peerKey).toString(),
      account: d.address.toLowerCase()
    })
    const row = store.db
      .prepare(`SELECT event_name, submitter, args FROM audit_events WHERE event_name = 'NodeRegistered'`)
      .get() as { submitter: string; args: string }
    expect(row.submitter).toBe(d.address)
    expect(JSON.parse(row.args)).toMatchObject({
      peerIdHash: `0x${peerIdHash(verified.body.peerId)}`,
      recordHash: `0x${verified.recordHash}`
    })
    const rotated = await audit.registerIdentity({
      peerKey,
      signingPublicKeyPem: keys(),
      encryptionPublicKeyPem
    })
    expect(rotated).not.toBe(first)
    await waitFor(() => countNodeRows(store.db) === 2, 'the second registration')
    // The directory finds both records of the PeerId on chain, each bound to its log.
    const found = await audit.identities.forPeer(verified.body.peerId)
    expect(found.map((e) => e.record)).toEqual([first, rotated])
    expect(found[0]?.anchor).toMatchObject({ type: 'event', blockNumber: expect.any(Number) })
    expect((await audit.identities.forAccount(d.address)).map((e) => e.record)).toEqual([first, rotated])
  })

  it('refuses a contract address whose code is not AuditTrail', async () => {
    store = tempStore()
    const d = await freshDeployment(chain.url)
    audit = auditService(store.db, store.dir, {
      rpcUrl: chain.url,
      privateKey: d.privateKey,
      contractAddress: d.address, // an account, not the contract
      fromBlock: 0
    })
    await expect(audit.start()).rejects.toMatchObject({ name: 'ContractBytecodeMismatchError' })
  })
})

function tamperPayload(
  store: TempStore,
  kind: string,
  shareId: string,
  change: (p: Record<string, unknown>) => void
) {
  const row = store.db
    .prepare('SELECT payload FROM outbox WHERE kind = ? AND share_id = ?')
    .get(kind, shareId) as {
    payload: string
  }
  const p = JSON.parse(row.payload) as Record<string, unknown>
  change(p)
  store.db
    .prepare('UPDATE outbox SET payload = ? WHERE kind = ? AND share_id = ?')
    .run(JSON.stringify(p), kind, shareId)
}

const countNodeRows = (db: TempStore['db']): number =>
  (
    db.prepare(`SELECT count(*) AS n FROM outbox WHERE kind = 'node' AND state = 'confirmed'`).get() as {
      n: number
    }
  ).n
