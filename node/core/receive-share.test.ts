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
  const envelopes = new MemoryEnvelopes(SELF)
  const store = new MemoryShareStore()
  const ledger = new MemoryLedger()
  return {
    envelopes,
    store,
    ledger,
    components: { envelopes, store, ledger, clock: new ManualClock(), selfPeerId: SELF }
  }
}

describe('receive a share', () => {
  it('refuses a mismatched sender or too little trust before opening, so no nonce is spent', () => {
    const { envelopes, components, store } = setup()
    const env = envelopes.forge({ ...facts, sender: 'mallory' }, new Uint8Array([1]), 'mallory')
    expect(() => receiveShare(components, alice, env)).toThrow(
      expect.objectContaining({ name: 'SenderMismatchError' })
    )
    const high = envelopes.forge({ ...facts, tier: 'high' }, new Uint8Array([1]), 'alice')
    expect(() => receiveShare(components, alice, high)).toThrow(
      expect.objectContaining({ name: 'InsufficientTrustError' })
    )
    expect(envelopes.opened).toBe(0)
    expect(envelopes.spentNonces.size).toBe(0)
    expect(store.shares.size).toBe(0)
  })

  it('spends no nonce on a forged signature', () => {
    const { envelopes, components } = setup()
    const forged = envelopes.forge(facts, new Uint8Array([1]), 'mallory')
    expect(() => receiveShare(components, alice, forged)).toThrow(
      expect.objectContaining({ name: 'EnvelopeSignatureError' })
    )
    expect(envelopes.spentNonces.size).toBe(0)
  })

  it('stores once and answers a repeated share id with the same receipt', () => {
    const { envelopes, components, store, ledger } = setup()
    const data = new Uint8Array([1, 2, 3])
    const first = receiveShare(components, alice, envelopes.forge(facts, data, 'alice'))
    expect(first.stored?.state).toBe('received')
    expect(first.receipt.body).toMatchObject({ shareId: facts.shareId, sender: 'alice', recipient: SELF })
    const again = receiveShare(components, alice, envelopes.forge(facts, data, 'alice'))
    expect(again.stored).toBeUndefined()
    expect(again.receipt).toEqual(first.receipt)
    expect(store.shares.size).toBe(1)
    expect(ledger.calls).toEqual([{ event: 'shareReceived', shareId: facts.shareId }])
    expect(() =>
      receiveShare(components, alice, envelopes.forge(facts, new Uint8Array([9]), 'alice'))
    ).toThrow(expect.objectContaining({ name: 'InvalidShareRequestError' }))
  })
})
