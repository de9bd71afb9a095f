import { describe, expect, it } from 'vitest'
import { type DeliverBatchComponents, deliverBatch } from './deliver-batch.ts'
import type { KnownPeer, StoredShare } from './share-ports.ts'
import { acceptShare } from './accept-share.ts'
import {
  MemoryLedger,
  MemoryPeers,
  MemoryShareStore,
  ManualClock
} from './test-support/in-memory-share-ports.ts'

const SELF = `12D3Koo${'A'.repeat(45)}`
const BOB = `12D3Koo${'B'.repeat(45)}`
const bob: KnownPeer = {
  peerId: BOB,
  trust: 'pinned',
  signingPublicKeyPem: 'S',
  encryptionPublicKeyPem: 'E'
}

function setup(maxBytes: number) {
  const store = new MemoryShareStore()
  const ledger = new MemoryLedger()
  const peers = new MemoryPeers()
  peers.known.set(BOB, bob)
  const accept = {
    store,
    ledger,
    peers,
    clock: new ManualClock(),
    selfPeerId: SELF,
    canAttest: false,
    shareExpiryMs: 1000
  }
  const shares = [1, 2, 3].map((n) =>
    acceptShare(accept, { data: new Uint8Array(4).fill(n), recipient: BOB })
  )
  const unreachable = () => {
    throw new Error('nothing is sealed or sent in these attempts')
  }
  const components: DeliverBatchComponents<StoredShare> = {
    store,
    ledger,
    peers,
    envelopes: { receiptSignedBy: unreachable },
    batches: { seal: unreachable },
    transport: { sendBatch: unreachable },
    maxBytes
  }
  return { store, shares, components }
}

describe('deliver a batch', () => {
  it('gives back the plaintext of the shares it did not send, deferred past the byte budget or held back', async () => {
    // Two 4-byte shares fit in 8 bytes; the third is deferred to the next batch.
    const { store, shares, components } = setup(8)
    const outcomes = await deliverBatch(components, shares, {
      signal: new AbortController().signal,
      beforeSeal: () => false
    })
    expect(outcomes.map((o) => ('held' in o ? o.held : 'other'))).toEqual([
      'deferred',
      'given-back',
      'given-back'
    ])
    // Each plaintext read is given back, so the next attempt takes it from memory, not the record at rest.
    expect([...store.returned].sort()).toEqual(shares.map((s) => s.dataHash).sort())
  })
})
