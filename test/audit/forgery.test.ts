import { randomBytes } from 'node:crypto'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkBundle } from '../../node/audit/bundle-check.ts'
import { bytes16, bytes32, encodeCall } from '../../node/audit/contract.ts'
import {
  canonicalIdentityBody,
  type IdentityRecordBody,
  identityBodyOf
} from '../../node/audit/identity-record.ts'
import { type AuditService, auditApiPorts, EmbeddedChain, peerIdHash } from '../../node/audit/index.ts'
import {
  auditService,
  boundParties,
  countState,
  freshDeployment,
  queueShare,
  sendFrom,
  storeReceipt,
  type TempStore,
  type TestParty,
  tempStore,
  testParty,
  waitFor
} from './helpers.ts'

// A node and a second funded account on one Hardhat node. The attacker sees every transaction the
// node sends and may send anything: the same calls, the node's share ids, the node's PeerId.
const chain = new EmbeddedChain()
let store: TempStore
let audit: AuditService
let d: Awaited<ReturnType<typeof freshDeployment>>
let node: TestParty
let recipient: TestParty
const attacker = new Wallet(Wallet.createRandom().privateKey)
const attackerAccount = attacker.address.toLowerCase()

const send = (data: string) => sendFrom(chain.url, attacker, d.record.contractAddress, data)

/** A record in the published form, with whatever signatures the attacker can make. */
function recordText(body: IdentityRecordBody, peerSignature: string, accountSignature: string): string {
  const bodyText = new TextDecoder().decode(canonicalIdentityBody(body))
  return `{"body":${bodyText},"peerSignature":${JSON.stringify(peerSignature)},"accountSignature":${JSON.stringify(accountSignature)}}`
}

async function registerAs(peerId: string, record: string) {
  await send(encodeCall('registerNode', [bytes32(peerIdHash(peerId)), new TextEncoder().encode(record)]))
}

function startAudit() {
  audit = auditService(store.db, store.dir, {
    rpcUrl: chain.url,
    privateKey: d.privateKey,
    contractAddress: d.record.contractAddress,
    fromBlock: d.record.deployBlock,
    mode: 'per-share'
  })
  return audit.start()
}

beforeAll(async () => {
  await chain.start()
  store = tempStore()
  d = await freshDeployment(chain.url)
  node = await testParty(new Wallet(d.privateKey))
  recipient = await testParty()

  // Before the node registers, the attacker registers the node's PeerId: with a record signed by its
  // own libp2p key, and with one that names the node's own PeerId key but cannot carry its signature.
  const own = await testParty(attacker)
  const base: IdentityRecordBody = {
    v: 1,
    kind: 'dmn-node-identity',
    peerId: node.peerId,
    peerKey: Buffer.from(publicKeyToProtobuf(own.peerKey.publicKey)).toString('base64'),
    account: attackerAccount,
    signingKey: identityKey(own.signingPublicKeyPem),
    encryptionKey: identityKey(own.encryptionPublicKeyPem),
    issuedAt: Date.now()
  }
  const forged = {
    ...base,
    peerKey: Buffer.from(publicKeyToProtobuf(node.peerKey.publicKey)).toString('base64')
  }
  for (const body of [base, forged]) {
    const bytes = canonicalIdentityBody(body)
    const peerSignature = Buffer.from(await own.peerKey.sign(bytes)).toString('base64')
    await registerAs(
      node.peerId,
      recordText(body, peerSignature, (await attacker.signMessage(bytes)).toLowerCase())
    )
  }
  await startAudit()
  await boundParties(audit, store.db, chain.url, { sender: node, recipient })
}, 60_000)

afterAll(async () => {
  await audit?.stop()
  store?.cleanup()
  await chain.stop()
})

function identityKey(pem: string): string {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64').toString('base64')
}

const confirmedTxs = () =>
  (
    store.db.prepare(`SELECT tx_hash FROM chain_txs WHERE state = 'confirmed' ORDER BY id`).all() as {
      tx_hash: string
    }[]
  ).map((r) => r.tx_hash)

describe('an attacker with a funded account', () => {
  it('can neither claim the node, nor its shares, nor stop it; what it sends counts for nobody', async () => {
    const shareOpts = { sender: node.peerId, recipient: recipient.peerId, signer: recipient }
    const first = queueShare(store.db, shareOpts)
    storeReceipt(store.db, first)
    audit.poke()
    await waitFor(() => countState(store.db, 'confirmed') === 2, "the node's first share")

    // Every call the node made (its registration, the share record, the receipt), sent again.
    for (const txHash of confirmedTxs()) {
      const tx = await d.rpc.call<{ input: string }>('eth_getTransactionByHash', [txHash])
      await send(tx.input)
    }
    // Its share id with another data hash, a receipt for its share id, and a share of another hash.
    const otherHash = randomBytes(32).toString('hex')
    await send(
      encodeCall('recordShare', [
        bytes16(first.shareId),
        bytes32(otherHash),
        bytes32(peerIdHash(recipient.peerId)),
        bytes32(randomBytes(32).toString('hex'))
      ])
    )
    await send(
      encodeCall('anchorReceipt', [bytes16(first.shareId), bytes32(randomBytes(32).toString('hex'))])
    )
    const ownHash = randomBytes(32).toString('hex')
    await send(
      encodeCall('recordShare', [
        bytes16(randomBytes(16).toString('hex')),
        bytes32(ownHash),
        bytes32(peerIdHash(node.peerId)),
        bytes32(randomBytes(32).toString('hex'))
      ])
    )

    // A share the attacker learns of before the node publishes it: it records it first.
    await audit.stop()
    const second = queueShare(store.db, shareOpts)
    storeReceipt(store.db, second)
    await send(
      encodeCall('recordShare', [
        bytes16(second.shareId),
        bytes32(second.dataHash),
        bytes32(peerIdHash(recipient.peerId)),
        bytes32(randomBytes(32).toString('hex'))
      ])
    )
    await send(
      encodeCall('anchorReceipt', [bytes16(second.shareId), bytes32(randomBytes(32).toString('hex'))])
    )
    await startAudit()
    await waitFor(
      () => countState(store.db, 'confirmed') === 4,
      "the node's second share, after the attacker's"
    )
    expect(countState(store.db, 'failed')).toBe(0)

    // The node's identity is the node's: the attacker's three registrations of its PeerId count for nothing.
    const identities = await audit.identities.forPeer(node.peerId)
    expect(identities.map((e) => e.body.account)).toEqual([node.wallet.address.toLowerCase()])
    expect(await audit.identities.forAccount(attackerAccount)).toEqual([])
    const problems = store.db
      .prepare('SELECT problem FROM identity_records WHERE account = ? ORDER BY block_number')
      .all(attackerAccount) as { problem: string }[]
    expect(problems.map((p) => p.problem)).toEqual([
      'peer_key_mismatch',
      'bad_peer_signature',
      'account_mismatch'
    ])

    // Every share the node made verifies; the attacker's copies are listed beside it, refused.
    const ports = auditApiPorts(audit).audit
    for (const share of [first, second]) {
      const v = await ports.verify(share.dataHash)
      expect(v).toMatchObject({ verified: true, reason: null })
      expect(v.shares).toEqual([
        expect.objectContaining({ shareId: share.shareId, sender: node.peerId, recipient: recipient.peerId })
      ])
      expect(v.refused.length).toBeGreaterThanOrEqual(2)
      for (const e of v.refused)
        expect(e).toMatchObject({ submitter: attackerAccount, reason: 'unbound_submitter' })
    }
    // The data hashes only the attacker used do not verify, and say why.
    for (const hash of [otherHash, ownHash]) {
      const v = await ports.verify(hash)
      expect(v).toMatchObject({ verified: false, reason: 'unbound_submitter', shares: [] })
      expect(v.refused.length).toBeGreaterThanOrEqual(1)
      for (const e of v.refused)
        expect(e).toMatchObject({ submitter: attackerAccount, reason: 'unbound_submitter' })
    }

    // A bundle pointing the node's share at the attacker's copy of its transaction does not verify.
    const bundle = JSON.parse(JSON.stringify(await audit.bundle(first.dataHash)))
    expect((await checkBundle(bundle, { rpc: chain.url })).verified).toBe(true)
    const copyOfRecord = (await audit.verify(first.dataHash)).evidence.find(
      (e) => e.event === 'ShareRecorded' && e.reason === 'unbound_submitter'
    )
    const receipt = await d.rpc.call<{
      blockNumber: string
      blockHash: string
      logs: { logIndex: string }[]
    }>('eth_getTransactionReceipt', [copyOfRecord?.txHash])
    bundle.shares[0].shareAnchor = {
      type: 'event',
      txHash: copyOfRecord?.txHash,
      blockNumber: Number(BigInt(receipt.blockNumber)),
      blockHash: receipt.blockHash,
      logIndex: Number(BigInt(receipt.logs[0]?.logIndex ?? '0x0'))
    }
    expect(await checkBundle(bundle, { rpc: chain.url })).toMatchObject({
      verified: false,
      reason: 'unbound_submitter'
    })
    // And the attacker's own account bound to the node's PeerId would need the PeerId's key.
    expect(identityBodyOf(identities[0]?.record as string).peerId).toBe(node.peerId)
  })
})
