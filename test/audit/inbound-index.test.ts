import { Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bytes16, bytes32, encodeCall } from '../../node/audit/contract.ts'
import {
  type AuditService,
  EmbeddedChain,
  peerIdHash,
  receiptLeaf,
  shareLeaf
} from '../../node/audit/index.ts'
import { ShareRepository } from '../../node/store/shares.ts'
import {
  auditService,
  countState,
  fakePeerId,
  freshDeployment,
  queueShare,
  sendFrom,
  storeReceipt,
  type TempStore,
  type TestShare,
  tempStore,
  testParty,
  waitFor
} from './helpers.ts'

/**
 * The recipient's side of the trail on a Hardhat node: node A sends (its audit service publishes
 * its identity, the share record and the receipt), node B received the share and indexes what the
 * chain says about it. A second funded account replays A's calls for B's shares: its events are on
 * chain and name B, and count for nothing.
 */

const chain = new EmbeddedChain()
beforeAll(() => chain.start())
afterAll(() => chain.stop())

const open: { audit: AuditService; store: TempStore }[] = []
afterEach(async () => {
  for (const { audit, store } of open.splice(0)) {
    await audit.stop()
    store.cleanup()
  }
})

async function startNode(contract: { address: string; deployBlock: number }, privateKey?: string) {
  const store = tempStore()
  const audit = auditService(store.db, store.dir, {
    rpcUrl: chain.url,
    privateKey: privateKey ?? Wallet.createRandom().privateKey,
    contractAddress: contract.address,
    fromBlock: contract.deployBlock
  })
  await audit.start()
  open.push({ audit, store })
  return { audit, store }
}

/**
 * Stores `share` as received on the recipient's database, with the receipt it signed, and wakes its
 * index as the p2p layer's hook does.
 */
function receive(node: { audit: AuditService; store: TempStore }, share: TestShare): void {
  const db = node.store.db
  const t = new Date().toISOString()
  db.transaction(() => {
    const recordId = db
      .prepare(
        'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, 1, ?)'
      )
      .run(share.dataHash, Buffer.from('x'), t).lastInsertRowid
    db.prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, receipt,
         created_at, updated_at) VALUES (?, 'in', ?, ?, ?, ?, ?, 'received', ?, ?, ?)`
    ).run(
      share.shareId,
      recordId,
      share.dataHash,
      share.sender,
      share.recipient,
      share.tier,
      Buffer.from(JSON.stringify(share.receipt)),
      t,
      t
    )
  })()
  node.audit.pokeInbound()
}

/** Sends A's contract calls for `share` from another account. */
async function forge(share: TestShare, forger: Wallet, address: string): Promise<void> {
  await sendFrom(
    chain.url,
    forger,
    address,
    encodeCall('recordShare', [
      bytes16(share.shareId),
      bytes32(share.dataHash),
      bytes32(peerIdHash(share.recipient)),
      bytes32(shareLeaf(share))
    ])
  )
  await sendFrom(
    chain.url,
    forger,
    address,
    encodeCall('anchorReceipt', [bytes16(share.shareId), bytes32(receiptLeaf(share.receipt.body))])
  )
}

describe("the recipient's index of the chain", () => {
  it("lists an inbound share as its sender's account anchors it, and no other account's events", async () => {
    const a = await freshDeployment(chain.url)
    const contract = { address: a.record.contractAddress, deployBlock: a.record.deployBlock }
    const sender = await startNode(contract, a.privateKey)
    const party = await testParty()
    const senderPeer = party.peerId
    await sender.audit.registerIdentity(party)

    const recipientPeer = fakePeerId()
    const recipient = await startNode(contract)
    recipient.audit.watchInbound(recipientPeer)
    const progress = new ShareRepository(recipient.store.db)

    // The share record is on chain before the recipient holds the share (it is signed at acceptance).
    const share = queueShare(sender.store.db, { sender: senderPeer, recipient: recipientPeer, tier: 'high' })
    sender.audit.poke()
    await waitFor(() => countState(sender.store.db, 'confirmed') === 1, 'the share record')
    receive(recipient, share)
    await waitFor(() => progress.auditOf(share.shareId).audit === 'recorded', 'the share recorded')

    storeReceipt(sender.store.db, share)
    sender.audit.poke()
    await waitFor(() => progress.auditOf(share.shareId).audit === 'confirmed', 'the receipt anchored')
    const history = recipient.audit.history({ dataHash: share.dataHash })
    expect(history.map((h) => h.event).sort()).toEqual(['ReceiptAnchored', 'ShareRecorded'])
    for (const h of history) {
      expect(h).toMatchObject({
        shareId: share.shareId,
        sender: senderPeer,
        recipient: recipientPeer,
        senderHash: peerIdHash(senderPeer),
        tier: 'high',
        timestamp: share.receipt.body.receivedAt,
        submitter: a.address
      })
    }

    // Another account replays A's calls for a second share B received from A, whose receipt A has
    // not anchored (yet): the forged receipt anchor must not make it look confirmed.
    const forger = new Wallet(Wallet.createRandom().privateKey)
    const other = queueShare(sender.store.db, { sender: senderPeer, recipient: recipientPeer })
    receive(recipient, other)
    await forge(other, forger, contract.address)
    sender.audit.poke()
    // A receipt anchored after the forgery, by the sender: once it is indexed, so are the forged blocks.
    const marker = queueShare(sender.store.db, { sender: senderPeer, recipient: recipientPeer })
    receive(recipient, marker)
    storeReceipt(sender.store.db, marker)
    sender.audit.poke()
    await waitFor(() => progress.auditOf(marker.shareId).audit === 'confirmed', 'the marker anchored')

    const rows = recipient.store.db
      .prepare('SELECT event_name, submitter, sender FROM audit_events WHERE share_id = ?')
      .all(other.shareId) as { event_name: string; submitter: string; sender: string | null }[]
    const fromForger = rows.filter((r) => r.submitter === forger.address)
    expect(fromForger.map((r) => [r.event_name, r.sender]).sort()).toEqual([
      ['ReceiptAnchored', null],
      ['ShareRecorded', null]
    ])
    expect(progress.auditOf(other.shareId).audit).toBe('recorded')
    const otherHistory = recipient.audit.history({ dataHash: other.dataHash })
    expect(otherHistory.map((h) => [h.event, h.submitter])).toEqual([['ShareRecorded', a.address]])

    // The forger replays the calls of A's first share too: A's own index, rebuilt from every log of
    // the contract, still holds only A's two events for it, and so does B's.
    await forge(share, forger, contract.address)
    await sender.audit.reindex()
    for (const node of [sender, recipient]) {
      const own = node.audit.history({ dataHash: share.dataHash }).map((h) => [h.event, h.submitter])
      expect(own.sort()).toEqual([
        ['ReceiptAnchored', a.address],
        ['ShareRecorded', a.address]
      ])
    }
    expect(recipient.audit.history({ limit: 1000 }).every((h) => h.submitter === a.address)).toBe(true)
  })

  it('forgets where it stopped when the index is rebuilt, and attributes the same events again', async () => {
    const a = await freshDeployment(chain.url)
    const contract = { address: a.record.contractAddress, deployBlock: a.record.deployBlock }
    const sender = await startNode(contract, a.privateKey)
    const party = await testParty()
    const senderPeer = party.peerId
    await sender.audit.registerIdentity(party)
    const recipientPeer = fakePeerId()
    const recipient = await startNode(contract)
    recipient.audit.watchInbound(recipientPeer)
    const progress = new ShareRepository(recipient.store.db)

    const share = queueShare(sender.store.db, { sender: senderPeer, recipient: recipientPeer })
    receive(recipient, share)
    storeReceipt(sender.store.db, share)
    sender.audit.poke()
    await waitFor(() => progress.auditOf(share.shareId).audit === 'confirmed', 'the receipt anchored')
    const before = recipient.audit.history({ limit: 1000 })

    await recipient.audit.reindex()
    recipient.audit.pokeInbound()
    await waitFor(() => recipient.audit.history({ limit: 1000 }).length === before.length, 'attributed again')
    expect(recipient.audit.history({ limit: 1000 })).toEqual(before)
  })
})
