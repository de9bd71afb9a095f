import { createHash } from 'node:crypto'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { acceptShare } from './accept-share.ts'
import {
  MemoryLedger,
  MemoryPeers,
  MemoryShareStore,
  ManualClock
} from './test-support/in-memory-share-ports.ts'

const hashCalls = vi.hoisted(() => ({ count: 0 }))
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>()
  return {
    ...actual,
    createHash: (algorithm: string) => {
      hashCalls.count++
      return actual.createHash(algorithm)
    }
  }
})

const SELF = `12D3Koo${'A'.repeat(45)}`
const BOB = `12D3Koo${'B'.repeat(45)}`
const BOB_ADDRESS = `0x${'b'.repeat(40)}`

function setup(canAttest = false) {
  const store = new MemoryShareStore()
  const ledger = new MemoryLedger()
  const peers = new MemoryPeers()
  peers.byAddress.set(BOB_ADDRESS, BOB)
  const components = {
    store,
    ledger,
    peers,
    clock: new ManualClock(),
    selfPeerId: SELF,
    canAttest,
    shareExpiryMs: 1000
  }
  return { store, ledger, peers, components }
}

describe('accept a share', () => {
  beforeEach(() => {
    hashCalls.count = 0
  })

  it('writes record, share and audit event in one transaction, hashing the data once', () => {
    const { store, ledger, components } = setup()
    const data = new TextEncoder().encode('hello')
    const share = acceptShare(components, { data, recipient: BOB_ADDRESS })
    expect(hashCalls.count).toBe(1)
    expect(store.transactions).toBe(1)
    expect(share).toMatchObject({
      recipient: BOB,
      sender: SELF,
      tier: 'standard',
      state: 'queued',
      expiresMs: components.clock.ms + 1000
    })
    expect(share.dataHash).toBe(createHash('sha256').update(data).digest('hex'))
    expect(store.readRecord(share.dataHash)).toEqual(data)
    expect(ledger.calls).toEqual([{ event: 'shareQueued', shareId: share.shareId }])
  })

  it('rolls record and share back when the audit write fails', () => {
    const { store, ledger, components } = setup()
    ledger.fail = new Error('outbox full')
    expect(() => acceptShare(components, { data: new Uint8Array([1]), recipient: BOB })).toThrow(
      'outbox full'
    )
    expect(store.records.size).toBe(0)
    expect(store.shares.size).toBe(0)
  })

  it('accepts a share to an address nobody is known by as unresolved, without an audit event yet', () => {
    const { store, ledger, components } = setup()
    const label = `0x${'C'.repeat(40)}`
    const share = acceptShare(components, { data: new Uint8Array([1]), recipient: label })
    expect(share).toMatchObject({
      state: 'unresolved',
      recipient: label.toLowerCase(),
      recipientLabel: label,
      nextAttemptMs: components.clock.ms,
      expiresMs: components.clock.ms + 1000
    })
    expect(store.shares.get(share.shareId)?.state).toBe('unresolved')
    // The share record names the recipient's PeerId: it is queued once the share is resolved.
    expect(ledger.calls).toEqual([])
  })

  it('refuses a malformed recipient, oneself and a denied peer before writing anything', () => {
    const { store, peers, components } = setup()
    const data = new Uint8Array([1])
    expect(() => acceptShare(components, { data, recipient: `0x${'c'.repeat(39)}` })).toThrow(
      expect.objectContaining({ name: 'UnknownRecipientError' })
    )
    expect(() => acceptShare(components, { data, recipient: 'not-a-peer' })).toThrow(
      expect.objectContaining({ name: 'UnknownRecipientError' })
    )
    expect(() => acceptShare(components, { data, recipient: SELF })).toThrow(
      expect.objectContaining({ name: 'InvalidShareRequestError', field: 'recipient' })
    )
    peers.denied.add(BOB)
    expect(() => acceptShare(components, { data, recipient: BOB })).toThrow(
      expect.objectContaining({ name: 'PeerDeniedError' })
    )
    expect(store.transactions).toBe(0)
  })

  it('refuses an unknown tier, and the maximum tier without an attestation verifier', () => {
    const data = new Uint8Array([1])
    const { components, store } = setup(false)
    expect(() => acceptShare(components, { data, recipient: BOB, tier: 'top' as never })).toThrow(
      expect.objectContaining({ name: 'InvalidShareRequestError', field: 'security_tier' })
    )
    expect(() => acceptShare(components, { data, recipient: BOB, tier: 'maximum' })).toThrow(
      expect.objectContaining({ name: 'AttestationNotConfiguredError' })
    )
    expect(store.transactions).toBe(0)
    expect(acceptShare(setup(true).components, { data, recipient: BOB, tier: 'maximum' }).tier).toBe(
      'maximum'
    )
  })
})
