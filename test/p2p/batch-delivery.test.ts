import { createHash, randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import type { BatchAnswer } from '../../node/core/batch-ports.ts'
import type { StoredShare } from '../../node/core/share-ports.ts'
import { sealBatch } from '../../node/crypto/batch-envelope.ts'
import { keyFingerprint } from '../../node/crypto/index.ts'
import { receiptVerifier } from '../../node/p2p/batch-adapters.ts'
import { sendBatch } from '../../node/p2p/batch-protocol.ts'
import { BATCH_PROTOCOL } from '../../node/p2p/constants.ts'
import { RemoteRefusalError } from '../../node/p2p/errors.ts'
import { startNode, type TestNode, tempDir, waitFor } from './helpers.ts'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** The name a recipient refused one share of a batch with, or undefined when it was receipted. */
function refusalOf(answer: BatchAnswer | undefined): string | undefined {
  return answer && 'error' in answer && answer.error instanceof RemoteRefusalError
    ? answer.error.refusal
    : undefined
}

/** Two real nodes on 127.0.0.1 with SQLite files, each having verified the other's certificate. */
async function pair(running: TestNode[], dirs: { remove(): void; path: string }[], batchMax = 64) {
  const da = tempDir('batch-sender')
  const db = tempDir('batch-recipient')
  dirs.push(da, db)
  const a = await startNode(da.path, { batchMax, batchWindowMs: 20 })
  const b = await startNode(db.path)
  running.push(a, b)
  await a.p2p.connect(b.p2p.multiaddrs[0] as string)
  await waitFor('A to verify B', () =>
    a.p2p.peers().some((p) => p.peerId === b.p2p.peerId && p.trust !== 'unknown')
  )
  await waitFor('B to verify A', () =>
    b.p2p.peers().some((p) => p.peerId === a.p2p.peerId && p.trust !== 'unknown')
  )
  return { a, b }
}

function inbound(node: TestNode): { share_id: string }[] {
  return node.db
    .prepare<[], { share_id: string }>("SELECT share_id FROM shares WHERE direction = 'in' ORDER BY share_id")
    .all()
}

describe('batched delivery', () => {
  const running: TestNode[] = []
  const dirs: { remove(): void; path: string }[] = []
  afterAll(async () => {
    await Promise.all(running.map((n) => n.stop().catch(() => {})))
    for (const d of dirs) d.remove()
  })

  it('stores and receipts the shares of a batch and refuses the one changed in transit alone', async () => {
    const { a, b } = await pair(running, dirs)
    const data = [0, 1, 2, 3].map((i) => new TextEncoder().encode(`share ${i} of a batch`))
    const shares = data.map((plaintext) => ({
      shareId: randomBytes(16).toString('hex'),
      tier: 'standard' as const,
      dataHash: sha256(plaintext),
      plaintext
    }))
    const sealed = await sealBatch({
      sender: a.p2p.peerId,
      recipient: b.p2p.peerId,
      senderKeyId: keyFingerprint(a.keyRing.identity.signing.publicKeyPem),
      recipientKeyId: keyFingerprint(b.keyRing.identity.encryption.publicKeyPem),
      shares,
      senderSigningPrivateKeyPem: a.keyRing.identity.signing.privateKeyPem,
      recipientEncryptionPublicKeyPem: b.keyRing.identity.encryption.publicKeyPem
    })
    // One byte of the third share's ciphertext changes after the manifest was signed.
    const tampered = new Uint8Array(sealed.parts[2] as Uint8Array)
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] as number) ^ 0xff
    const parts = sealed.parts.map((p, i) => (i === 2 ? tampered : p))

    const answers = await sendBatch(
      a.p2p.libp2p,
      b.p2p.peerId,
      { manifestFrame: sealed.manifestFrame, parts },
      {
        signal: AbortSignal.timeout(10_000)
      }
    )

    expect(answers.map((x) => x.shareId)).toEqual(shares.map((s) => s.shareId))
    expect(refusalOf(answers[2])).toBe('BatchEntryTamperedError')
    const signer = {
      peerId: b.p2p.peerId,
      trust: 'pinned' as const,
      signingPublicKeyPem: b.keyRing.identity.signing.publicKeyPem,
      encryptionPublicKeyPem: b.keyRing.identity.encryption.publicKeyPem
    }
    const verifier = receiptVerifier()
    const roots = new Set<string>()
    for (const i of [0, 1, 3]) {
      const answer = answers[i] as { receipt: NonNullable<StoredShare['receipt']> }
      expect(answer.receipt.body).toMatchObject({
        shareId: shares[i]?.shareId,
        dataHash: shares[i]?.dataHash
      })
      expect(answer.receipt.batch?.root.treeSize).toBe(3)
      expect(verifier.receiptSignedBy(answer.receipt, signer)).toBe(true)
      roots.add(answer.receipt.signature)
    }
    expect(roots.size).toBe(1)
    expect(inbound(b).map((r) => r.share_id)).toEqual(
      [0, 1, 3].map((i) => shares[i]?.shareId as string).sort()
    )
    expect((await b.p2p.getRecord(shares[3]?.dataHash as string)).data).toEqual(data[3])

    // The same batch replayed, intact: the stored shares' nonces are spent, while the share refused
    // as tampered spent none (its part was refused before its nonce was looked at) and arrives now.
    const again = await sendBatch(a.p2p.libp2p, b.p2p.peerId, sealed, { signal: AbortSignal.timeout(10_000) })
    for (const i of [0, 1, 3]) expect(refusalOf(again[i])).toBe('ReplayedNonceError')
    expect(again[2] && 'receipt' in again[2]).toBe(true)
    expect(inbound(b)).toHaveLength(4)
  })

  it('delivers a burst to one peer in batches, each share with its own receipt under a signed root', async () => {
    const { a, b } = await pair(running, dirs)
    const batches: { recipient: string; shares: number }[] = []
    a.p2p.on('batch:delivered', (batch) => batches.push(batch))
    const ids = Array.from(
      { length: 40 },
      (_, i) =>
        a.p2p.shareData({ data: new TextEncoder().encode(`burst ${i}`), recipient: b.p2p.peerId }).shareId
    )
    await waitFor('every share delivered', () => ids.every((id) => a.p2p.getShare(id).state === 'delivered'))
    const receipts = ids.map((id) => a.p2p.getShare(id).receipt)
    expect(receipts.every((r) => r?.batch !== undefined)).toBe(true)
    // Fewer roots than shares: they travelled together, one batch:delivered event per root.
    const roots = new Set(receipts.map((r) => r?.batch?.root.root))
    expect(roots.size).toBeLessThan(ids.length)
    expect(batches).toHaveLength(roots.size)
    expect(batches.every((x) => x.recipient === b.p2p.peerId)).toBe(true)
    expect(batches.reduce((sum, x) => sum + x.shares, 0)).toBe(ids.length)
    expect(inbound(b)).toHaveLength(ids.length)
    for (const id of ids) expect(b.p2p.getShare(id).receipt).toEqual(a.p2p.getShare(id).receipt)
  })

  it('delivers per-share to a peer that does not speak the batch protocol', async () => {
    const { a, b } = await pair(running, dirs)
    await b.p2p.libp2p.unhandle(BATCH_PROTOCOL)
    const ids = Array.from(
      { length: 5 },
      (_, i) =>
        a.p2p.shareData({ data: new TextEncoder().encode(`old peer ${i}`), recipient: b.p2p.peerId }).shareId
    )
    await waitFor('every share delivered', () => ids.every((id) => a.p2p.getShare(id).state === 'delivered'))
    for (const id of ids) {
      expect(a.p2p.getShare(id).receipt?.batch).toBeUndefined()
      expect(a.p2p.getShare(id).attempts).toBe(1)
    }
    expect(inbound(b)).toHaveLength(ids.length)
  })
})
