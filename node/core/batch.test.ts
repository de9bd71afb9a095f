import { describe, expect, it } from 'vitest'
import {
  type BatchManifest,
  canonicalManifest,
  parseManifest,
  planBatches,
  receiptInRoot,
  receiptSignedBytes,
  receiptTree,
  validateBatchProof
} from './batch.ts'
import { canonicalReceipt, type ReceiptBody, type SignedReceipt } from './receipt.ts'

const SENDER = `Qm${'a'.repeat(44)}`
const RECIPIENT = `Qm${'b'.repeat(44)}`

function manifest(n: number): BatchManifest {
  return {
    v: 1,
    kind: 'dmn-share-batch',
    batchId: '1'.repeat(32),
    sender: SENDER,
    recipient: RECIPIENT,
    senderKeyId: 'c'.repeat(64),
    recipientKeyId: 'd'.repeat(64),
    wrappedKey: 'AAAA',
    keys: 'BBBB',
    entries: Array.from({ length: n }, (_, i) => ({
      shareId: i.toString(16).padStart(32, '0'),
      tier: 'standard' as const,
      dataHash: 'e'.repeat(64),
      nonce: (i + 100).toString(16).padStart(32, '0'),
      timestamp: 1_700_000_000_000 + i,
      sealedHash: 'f'.repeat(64)
    }))
  }
}

function bodies(n: number): ReceiptBody[] {
  return Array.from({ length: n }, (_, i) => ({
    v: 1,
    shareId: i.toString(16).padStart(32, '0'),
    dataHash: 'e'.repeat(64),
    sender: SENDER,
    recipient: RECIPIENT,
    tier: 'standard',
    receivedAt: 1_700_000_000_500
  }))
}

describe('batch manifest', () => {
  it('reads back exactly what it encodes', () => {
    const m = manifest(3)
    expect(parseManifest(canonicalManifest(m), 10)).toEqual(m)
  })

  it('refuses bytes that are not the canonical form, so the signature covers what is parsed', () => {
    const text = new TextDecoder().decode(canonicalManifest(manifest(1)))
    const spaced = new TextEncoder().encode(text.replace('"v":1,', '"v": 1,'))
    expect(() => parseManifest(spaced, 10)).toThrow(expect.objectContaining({ name: 'InvalidBatchError' }))
  })

  it('refuses a repeated share id, an empty batch and one over the entry limit', () => {
    const m = manifest(2)
    const twice = { ...m, entries: [m.entries[0], m.entries[0]] } as unknown as BatchManifest
    expect(() => parseManifest(canonicalManifest(twice), 10)).toThrow(/repeats a share id/)
    expect(() => parseManifest(canonicalManifest(manifest(0)), 10)).toThrow(/1 to 10 entries/)
    expect(() => parseManifest(canonicalManifest(manifest(11)), 10)).toThrow(/1 to 10 entries/)
  })

  it('refuses an entry field out of form', () => {
    const m = manifest(1)
    const bad = { ...m, entries: [{ ...m.entries[0], nonce: 'xyz' }] } as unknown as BatchManifest
    expect(() => parseManifest(canonicalManifest(bad), 10)).toThrow(/entries\[0\]\.nonce/)
  })
})

describe('receipt root', () => {
  for (const n of [1, 2, 3, 5, 8, 13]) {
    it(`proves every one of ${n} receipts under the root, and each alone`, () => {
      const list = bodies(n)
      const tree = receiptTree(list, {
        batchId: '2'.repeat(32),
        sender: SENDER,
        recipient: RECIPIENT,
        signedAt: 7
      })
      expect(tree.root.treeSize).toBe(n)
      for (const [i, body] of list.entries()) {
        const receipt: SignedReceipt = { body, signature: 'sig', batch: tree.proofs[i] }
        expect(receiptInRoot(receipt)).toBe(true)
        // What the signature covers is the root, the same bytes for every receipt of the batch.
        expect(receiptSignedBytes(receipt, canonicalReceipt)).toEqual(
          receiptSignedBytes({ ...receipt, body: list[0] as ReceiptBody }, canonicalReceipt)
        )
        expect(validateBatchProof(JSON.parse(JSON.stringify(tree.proofs[i])))).toEqual(tree.proofs[i])
      }
    })
  }

  it('fails a receipt whose body, index or root names another share or party', () => {
    const list = bodies(4)
    const tree = receiptTree(list, {
      batchId: '2'.repeat(32),
      sender: SENDER,
      recipient: RECIPIENT,
      signedAt: 7
    })
    const receipt: SignedReceipt = { body: list[1] as ReceiptBody, signature: 's', batch: tree.proofs[1] }
    expect(receiptInRoot({ ...receipt, body: { ...receipt.body, receivedAt: 1 } })).toBe(false)
    expect(receiptInRoot({ ...receipt, batch: { ...tree.proofs[1], leafIndex: 2 } as never })).toBe(false)
    const otherRoot = { ...tree.root, recipient: SENDER }
    expect(receiptInRoot({ ...receipt, batch: { ...tree.proofs[1], root: otherRoot } as never })).toBe(false)
  })

  it('signs a receipt alone over its own canonical bytes', () => {
    const body = bodies(1)[0] as ReceiptBody
    expect(receiptInRoot({ body, signature: 's' })).toBe(true)
    expect(receiptSignedBytes({ body, signature: 's' }, canonicalReceipt)).toEqual(canonicalReceipt(body))
  })
})

describe('batch planning', () => {
  const share = (id: string, recipient: string, due: number) => ({
    shareId: id,
    recipient,
    nextAttemptMs: due
  })

  it('sends a full batch at once and holds a smaller one until its window ends', () => {
    const due = [share('a', 'p', 100), share('b', 'p', 101), share('c', 'p', 102), share('d', 'q', 100)]
    const plan = planBatches(due, { max: 2, windowMs: 50 }, 120)
    expect(plan.groups.map((g) => g.map((s) => s.shareId))).toEqual([['a', 'b']])
    expect(plan.holdUntilMs).toBe(150)
    const later = planBatches(due, { max: 2, windowMs: 50 }, 160)
    expect(later.groups.map((g) => g.map((s) => s.shareId))).toEqual([['a', 'b'], ['c'], ['d']])
    expect(later.holdUntilMs).toBeUndefined()
  })

  it('holds a smaller batch while its recipient has an attempt in flight, and sends a full one', () => {
    const due = [share('a', 'p', 0), share('b', 'p', 0), share('c', 'p', 0), share('d', 'q', 0)]
    const busy = (peer: string) => peer === 'p'
    const plan = planBatches(due, { max: 2, windowMs: 10 }, 100, () => false, busy)
    // p's full batch goes, its third share waits for the answer (no timer for it); q is not busy.
    expect(plan.groups.map((g) => g.map((s) => s.shareId))).toEqual([['a', 'b'], ['d']])
    expect(plan).toMatchObject({ holdUntilMs: undefined, waitsForAnswer: true })
    const idle = planBatches(due, { max: 2, windowMs: 10 }, 100)
    expect(idle.groups.map((g) => g.map((s) => s.shareId))).toEqual([['a', 'b'], ['c'], ['d']])
    expect(idle.waitsForAnswer).toBe(false)
    // With batching off, an attempt in flight holds nothing back.
    expect(planBatches(due, { max: 1, windowMs: 10 }, 100, () => false, busy).groups).toHaveLength(4)
  })

  it('sends every share alone with batching off or to a peer without the batch protocol', () => {
    const due = [share('a', 'p', 0), share('b', 'p', 0), share('c', 'q', 0), share('d', 'q', 0)]
    expect(planBatches(due, { max: 1, windowMs: 50 }, 0).groups).toHaveLength(4)
    const plan = planBatches(due, { max: 8, windowMs: 0 }, 0, (peer) => peer === 'q')
    expect(plan.groups.map((g) => g.map((s) => s.shareId))).toEqual([['a', 'b'], ['c'], ['d']])
  })
})
