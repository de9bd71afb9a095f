import { describe, expect, it } from 'vitest'
import { acceptShare } from './accept-share.ts'
import { resolutionPlan, resolveShare } from './resolve-share.ts'
import {
  IdentityRecordMismatchError,
  InvalidShareRequestError,
  PeerDeniedError,
  RecipientNotRegisteredError
} from './share-errors.ts'
import type { IdentityRegistry, RegisteredIdentity } from './share-ports.ts'
import {
  ManualClock,
  MemoryLedger,
  MemoryPeers,
  MemoryShareStore
} from './test-support/in-memory-share-ports.ts'

const SELF = `12D3Koo${'A'.repeat(45)}`
const BOB = `12D3Koo${'B'.repeat(45)}`
const BOB_ACCOUNT = `0x${'b'.repeat(40)}`
const BOB_IDENTITY: RegisteredIdentity = {
  peerId: BOB,
  account: BOB_ACCOUNT,
  signingPublicKeyPem: 'bob signing key',
  encryptionPublicKeyPem: 'bob encryption key'
}

/** A registry over a map of accounts, counting look-ups; `down` makes it reject as an unreachable chain. */
class MemoryRegistry implements IdentityRegistry {
  readonly records = new Map<string, RegisteredIdentity>()
  readonly asked: string[] = []
  down: Error | undefined

  async lookup(account: string): Promise<RegisteredIdentity | undefined> {
    this.asked.push(account)
    if (this.down) throw this.down
    return this.records.get(account)
  }
}

function setup() {
  const store = new MemoryShareStore()
  const ledger = new MemoryLedger()
  const peers = new MemoryPeers()
  const registry = new MemoryRegistry()
  const clock = new ManualClock()
  const accept = {
    store,
    ledger,
    peers,
    clock,
    selfPeerId: SELF,
    canAttest: false,
    shareExpiryMs: 60_000
  }
  const resolve = { store, ledger, peers, registry, clock, selfPeerId: SELF }
  // The client names Bob by his address in the case it has at hand.
  const share = acceptShare(accept, {
    data: new Uint8Array([1, 2]),
    recipient: BOB_ACCOUNT.toUpperCase().replace('0X', '0x')
  })
  return { store, ledger, peers, registry, clock, resolve, share }
}

const signal = new AbortController().signal
const settings = { intervalMs: 5_000 }

describe('resolve an unresolved share', () => {
  it('queues it for the PeerId the registry names, binds the record keys, and queues its audit event then', async () => {
    const { store, ledger, peers, registry, clock, resolve, share } = setup()
    registry.records.set(BOB_ACCOUNT, BOB_IDENTITY)
    clock.ms += 1_234
    const resolved = await resolveShare(resolve, share, { signal })
    expect(resolved?.via).toBe('registry')
    expect(resolved?.share).toMatchObject({
      shareId: share.shareId,
      state: 'queued',
      recipient: BOB,
      recipientLabel: share.recipientLabel,
      nextAttemptMs: clock.ms,
      expiresMs: share.expiresMs
    })
    // The registry is asked for the account in lower case, whatever the client wrote.
    expect(registry.asked).toEqual([BOB_ACCOUNT])
    expect(peers.bound.get(BOB)).toEqual({ signing: 'bob signing key', encryption: 'bob encryption key' })
    expect(ledger.calls).toEqual([{ event: 'shareQueued', shareId: share.shareId }])
    expect(store.shares.get(share.shareId)?.state).toBe('queued')
  })

  it('takes a peer met since, whose certificate binds the address, without asking the chain', async () => {
    const { peers, registry, resolve, share } = setup()
    peers.byAddress.set(BOB_ACCOUNT, BOB)
    const resolved = await resolveShare(resolve, share, { signal })
    expect(resolved).toMatchObject({ via: 'peer-book', share: { state: 'queued', recipient: BOB } })
    expect(registry.asked).toEqual([])
  })

  it('leaves it unresolved while nobody registered the address, and while the chain cannot be asked', async () => {
    const { store, ledger, registry, resolve, share } = setup()
    await expect(resolveShare(resolve, share, { signal })).rejects.toBeInstanceOf(RecipientNotRegisteredError)
    registry.down = Object.assign(new Error('connection refused'), { name: 'ChainUnavailableError' })
    await expect(resolveShare(resolve, share, { signal })).rejects.toMatchObject({
      name: 'ChainUnavailableError'
    })
    expect(store.shares.get(share.shareId)?.state).toBe('unresolved')
    expect(ledger.calls).toEqual([])
    // Without a registry only the peer directory can resolve it.
    await expect(resolveShare({ ...resolve, registry: undefined }, share, { signal })).rejects.toBeInstanceOf(
      RecipientNotRegisteredError
    )
  })

  it('refuses a record naming this node, a denied peer, or keys other than those held for the PeerId', async () => {
    const own = setup()
    own.registry.records.set(BOB_ACCOUNT, { ...BOB_IDENTITY, peerId: SELF })
    await expect(resolveShare(own.resolve, own.share, { signal })).rejects.toBeInstanceOf(
      InvalidShareRequestError
    )

    const denied = setup()
    denied.registry.records.set(BOB_ACCOUNT, BOB_IDENTITY)
    denied.peers.denied.add(BOB)
    await expect(resolveShare(denied.resolve, denied.share, { signal })).rejects.toBeInstanceOf(
      PeerDeniedError
    )
    // Nothing is bound for a peer the share will not go to.
    expect(denied.peers.bound.size).toBe(0)

    const other = setup()
    other.registry.records.set(BOB_ACCOUNT, BOB_IDENTITY)
    other.peers.bound.set(BOB, { signing: 'pinned signing key', encryption: 'pinned encryption key' })
    await expect(resolveShare(other.resolve, other.share, { signal })).rejects.toBeInstanceOf(
      IdentityRecordMismatchError
    )
    for (const t of [own, denied, other]) {
      expect(t.store.shares.get(t.share.shareId)?.state).toBe('unresolved')
      expect(t.ledger.calls).toEqual([])
    }
  })

  it('does nothing to a share that left unresolved meanwhile', async () => {
    const { store, ledger, registry, resolve, share } = setup()
    registry.records.set(BOB_ACCOUNT, BOB_IDENTITY)
    store.shares.set(share.shareId, { ...share, state: 'failed' })
    expect(await resolveShare(resolve, share, { signal })).toBeUndefined()
    expect(ledger.calls).toEqual([])
  })
})

describe('after a look-up that did not resolve', () => {
  const share = { expiresMs: 100_000 }
  const notYet = new RecipientNotRegisteredError(`no identity record binds ${BOB_ACCOUNT} yet`)

  it('looks again after the interval, the last time at the expiry itself', () => {
    expect(resolutionPlan(share, notYet, { nowMs: 10_000, stopping: false }, settings)).toEqual({
      final: false,
      nextLookupMs: 15_000,
      lastError: `RecipientNotRegisteredError: no identity record binds ${BOB_ACCOUNT} yet`
    })
    expect(resolutionPlan(share, notYet, { nowMs: 98_000, stopping: false }, settings)).toMatchObject({
      final: false,
      nextLookupMs: 100_000
    })
  })

  it('fails the share at its expiry, saying it expired unresolved and why', () => {
    const plan = resolutionPlan(share, notYet, { nowMs: 100_000, stopping: false }, settings)
    expect(plan.final).toBe(true)
    expect(plan.lastError).toBe(
      `expired unresolved: RecipientNotRegisteredError: no identity record binds ${BOB_ACCOUNT} yet`
    )
  })

  it('fails it at once on a verdict about the recipient, and never while the node stops', () => {
    for (const verdict of [
      new IdentityRecordMismatchError('other keys'),
      new PeerDeniedError('denied'),
      new InvalidShareRequestError('own address', { field: 'recipient' })
    ]) {
      expect(resolutionPlan(share, verdict, { nowMs: 1_000, stopping: false }, settings)).toMatchObject({
        final: true,
        lastError: `${verdict.name}: ${verdict.message}`
      })
    }
    expect(resolutionPlan(share, notYet, { nowMs: 200_000, stopping: true }, settings)).toMatchObject({
      final: false,
      nextLookupMs: 200_000
    })
  })
})
