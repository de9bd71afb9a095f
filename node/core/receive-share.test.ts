import { describe, expect, it } from 'vitest'
import { receiveShare } from './receive-share.ts'
import type { KnownPeer } from './share-ports.ts'
import {
  MemoryEnvelopes,
  MemoryLedger,
  MemoryShareStore,
  ManualClock
} from './test-support/in-memory-share-ports.ts'

const SELF = 'self-peer'
const alice: KnownPeer = {
  peerId: 'alice',
  trust: 'pinned',
  signingPublicKeyPem: 'a',
  encryptionPublicKeyPem: 'a'
}
const facts = { shareId: 'f'.repeat(32), sender: 'alice', recipient: SELF, tier: 'standard' as const }

function setup() {
  const store = new MemoryShareStore()
  const envelopes = new MemoryEnvelopes(SELF, store)
  const ledger = new MemoryLedger()
  return {
    envelopes,
    store,
    ledger,
    components: { envelopes, store, ledger, clock: new ManualClock(), selfPeerId: SELF }
  }
}

describe('receive a share', () => {
  it('refuses a mismatched sender or too little trust before opening, so no nonce is spent', async () => {
    const { envelopes, components, store } = setup()
    const env = envelopes.forge({ ...facts, sender: 'mallory' }, new Uint8Array([1]), 'mallory')
    await expect(receiveShare(components, alice, env)).rejects.toMatchObject({ name: 'SenderMismatchError' })
    const high = envelopes.forge({ ...facts, tier: 'high' }, new Uint8Array([1]), 'alice')
    await expect(receiveShare(components, alice, high)).rejects.toMatchObject({
      name: 'InsufficientTrustError'
    })
    expect(envelopes.opened).toBe(0)
    expect(envelopes.spentNonces.size).toBe(0)
    expect(store.shares.size).toBe(0)
  })

  it('spends no nonce and signs nothing on a forged signature', async () => {
    const { envelopes, components, store } = setup()
    const forged = envelopes.forge(facts, new Uint8Array([1]), 'mallory')
    await expect(receiveShare(components, alice, forged)).rejects.toMatchObject({
      name: 'EnvelopeSignatureError'
    })
    expect(envelopes.spentNonces.size).toBe(0)
    expect(envelopes.signed).toBe(0)
    expect(store.groupTransactions).toBe(0)
  })

  it('stores once and answers a repeated share id with the same receipt, signing it once', async () => {
    const { envelopes, components, store, ledger } = setup()
    const data = new Uint8Array([1, 2, 3])
    const first = await receiveShare(components, alice, envelopes.forge(facts, data, 'alice'))
    expect(first.stored?.state).toBe('received')
    expect(first.receipt.body).toMatchObject({ shareId: facts.shareId, sender: 'alice', recipient: SELF })
    expect(store.shares.get(facts.shareId)?.receipt).toEqual(first.receipt)
    const again = await receiveShare(components, alice, envelopes.forge(facts, data, 'alice'))
    expect(again.stored).toBeUndefined()
    expect(again.receipt).toEqual(first.receipt)
    expect(envelopes.signed).toBe(1)
    // The repeat's nonce is spent too: a replay of the retry is refused like any other.
    expect(envelopes.spentNonces.size).toBe(2)
    expect(store.shares.size).toBe(1)
    expect(ledger.calls).toEqual([{ event: 'shareReceived', shareId: facts.shareId }])
    await expect(
      receiveShare(components, alice, envelopes.forge(facts, new Uint8Array([9]), 'alice'))
    ).rejects.toMatchObject({ name: 'InvalidShareRequestError' })
  })

  it('refuses a replayed envelope at the nonce, whether the first copy is stored or still in flight', async () => {
    const { envelopes, components, store } = setup()
    const env = envelopes.forge(facts, new Uint8Array([4]), 'alice')
    const copies = await Promise.allSettled([
      receiveShare(components, alice, env),
      receiveShare(components, alice, env)
    ])
    expect(copies.map((c) => c.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refused = copies.find((c) => c.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toMatchObject({ name: 'ReplayedNonceError' })
    await expect(receiveShare(components, alice, env)).rejects.toMatchObject({ name: 'ReplayedNonceError' })
    expect(store.shares.size).toBe(1)
  })

  it('leaves nothing stored when the audit write fails, so the envelope is taken when it comes again', async () => {
    const { envelopes, components, store, ledger } = setup()
    const env = envelopes.forge(facts, new Uint8Array([5]), 'alice')
    ledger.fail = new Error('audit write failed')
    await expect(receiveShare(components, alice, env)).rejects.toThrow('audit write failed')
    expect(store.shares.size).toBe(0)
    expect(store.records.size).toBe(0)
    expect(envelopes.spentNonces.size).toBe(0)
    ledger.fail = undefined
    expect((await receiveShare(components, alice, env)).stored?.shareId).toBe(facts.shareId)
  })
})
