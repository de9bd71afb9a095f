import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { BatchEntryTamperedError, type BatchManifest, receiptInRoot, type ReceiptRootBody } from './batch.ts'
import { type OpenedBatchPort, receiveBatch } from './receive-batch.ts'
import type { KnownPeer } from './share-ports.ts'
import { ManualClock, MemoryLedger, MemoryShareStore } from './test-support/in-memory-share-ports.ts'

const SELF = `Qm${'s'.repeat(44)}`
const ALICE = `Qm${'a'.repeat(44)}`
const alice: KnownPeer = {
  peerId: ALICE,
  trust: 'pinned',
  signingPublicKeyPem: 'a',
  encryptionPublicKeyPem: 'a'
}
const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** A batch of `data.length` shares whose entry `tampered` fails to open, as a changed sealed part would. */
function batchOf(data: Uint8Array[], opts: { tampered?: number; tiers?: string[] } = {}): OpenedBatchPort {
  const manifest = {
    v: 1,
    kind: 'dmn-share-batch',
    batchId: '9'.repeat(32),
    sender: ALICE,
    recipient: SELF,
    senderKeyId: 'c'.repeat(64),
    recipientKeyId: 'd'.repeat(64),
    wrappedKey: 'AAAA',
    keys: 'BBBB',
    entries: data.map((d, i) => ({
      shareId: (i + 1).toString(16).padStart(32, '0'),
      tier: opts.tiers?.[i] ?? 'standard',
      dataHash: hash(d),
      nonce: '0'.repeat(32),
      timestamp: 1,
      sealedHash: 'f'.repeat(64)
    }))
  } as BatchManifest
  return {
    manifest,
    openEntry: (index, part) => {
      if (index === opts.tampered) throw new BatchEntryTamperedError('changed in transit')
      return part
    },
    dispose: () => {}
  }
}

function setup() {
  const store = new MemoryShareStore()
  const ledger = new MemoryLedger()
  const roots: ReceiptRootBody[] = []
  const components = {
    store,
    ledger,
    clock: new ManualClock(),
    selfPeerId: SELF,
    signRoot: (root: ReceiptRootBody) => {
      roots.push(root)
      return 'root-signature'
    }
  }
  return { store, ledger, roots, components }
}

describe('receive a batch', async () => {
  const data = [1, 2, 3, 4].map((n) => new Uint8Array([n, n, n]))

  it('refuses the one tampered share alone and stores and receipts the others under one signed root', async () => {
    const { store, ledger, roots, components } = setup()
    const { results, stored } = await receiveBatch(components, alice, batchOf(data, { tampered: 2 }), data)
    expect(results.map((r) => ('error' in r ? (r.error as Error).name : 'ok'))).toEqual([
      'ok',
      'ok',
      'BatchEntryTamperedError',
      'ok'
    ])
    expect(stored).toHaveLength(3)
    expect(store.shares.size).toBe(3)
    expect(store.transactions).toBe(1)
    expect(roots).toHaveLength(1)
    expect(roots[0]?.treeSize).toBe(3)
    for (const { receipt } of stored) {
      expect(receipt.signature).toBe('root-signature')
      expect(receiptInRoot(receipt)).toBe(true)
    }
    expect(ledger.calls.map((c) => c.event)).toEqual(['shareReceived', 'shareReceived', 'shareReceived'])
  })

  it('applies each share tier rule to that share: a high share from a pinned peer is refused alone', async () => {
    const { components } = setup()
    const batch = batchOf(data.slice(0, 2), { tiers: ['standard', 'high'] })
    const { results, stored } = await receiveBatch(components, alice, batch, data.slice(0, 2))
    expect('receipt' in (results[0] as object)).toBe(true)
    expect((results[1] as { error: Error }).error.name).toBe('InsufficientTrustError')
    expect(stored).toHaveLength(1)
  })

  it('answers a share stored before with its stored receipt and stores nothing twice', async () => {
    const { store, components } = setup()
    const first = await receiveBatch(components, alice, batchOf(data), data)
    const again = await receiveBatch(components, alice, batchOf(data), data)
    expect(again.stored).toHaveLength(0)
    expect(again.results).toEqual(first.results)
    expect(store.shares.size).toBe(4)
  })

  it('refuses a whole batch whose manifest names another sender, or whose parts do not match its entries', async () => {
    const { components } = setup()
    const mallory = { ...alice, peerId: `Qm${'m'.repeat(44)}` }
    await expect(receiveBatch(components, mallory, batchOf(data), data)).rejects.toMatchObject({
      name: 'SenderMismatchError'
    })
    await expect(receiveBatch(components, alice, batchOf(data), data.slice(1))).rejects.toMatchObject({
      name: 'InvalidBatchError'
    })
  })

  it('refuses a share whose data does not hash to its manifest entry', async () => {
    const { components } = setup()
    const parts = [data[0] as Uint8Array, new Uint8Array([9])]
    const { results } = await receiveBatch(components, alice, batchOf(data.slice(0, 2)), parts)
    expect((results[1] as { error: Error }).error.name).toBe('InvalidShareRequestError')
  })
})
