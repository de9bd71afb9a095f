import { describe, expect, it } from 'vitest'
import {
  DATA_HASH_INPUT_PATTERN,
  DATA_HASH_PATTERN,
  ETH_ADDRESS_PATTERN,
  PEER_ID_PATTERN,
  SHARE_ID_PATTERN,
  TIER_CHAIN_CODE,
  TIER_ENVELOPE_CODE,
  TIERS,
  tierOfChainCode,
  tierOfEnvelopeCode,
  canTransition,
  DELIVERY_STATES,
  recipientResolved,
  SHARE_TRANSITIONS,
  txHashPendingReason
} from './share.ts'

describe('share vocabulary', () => {
  it('says why a share has no transaction hash, and nothing once it has one', () => {
    const hash = `0x${'ab'.repeat(32)}`
    const out = { direction: 'out', audit: 'pending', txHash: null } as const
    expect(txHashPendingReason({ ...out, audit: 'sent', txHash: hash }, 'per-share')).toBeNull()
    expect(txHashPendingReason({ ...out, txHash: hash }, 'batch')).toBeNull()
    expect(txHashPendingReason(out, 'per-share')).toBe('awaiting_chain')
    expect(txHashPendingReason(out, 'batch')).toBe('batch')
    expect(txHashPendingReason({ ...out, audit: 'failed' }, 'per-share')).toBe('audit_failed')
    expect(txHashPendingReason({ ...out, direction: 'in' }, 'per-share')).toBe('anchored_by_sender')
    expect(txHashPendingReason({ ...out, direction: 'in' }, 'batch')).toBe('anchored_by_sender')
    expect(txHashPendingReason({ ...out, audited: false }, 'per-share')).toBe('recipient_unresolved')
    expect(txHashPendingReason({ ...out, audited: false }, 'batch')).toBe('recipient_unresolved')
  })

  it('moves a share only along its state machine, and never out of a final state', () => {
    const moves = DELIVERY_STATES.flatMap((from) =>
      DELIVERY_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`)
    )
    expect(moves).toEqual([
      'unresolved->queued',
      'unresolved->failed',
      'queued->delivering',
      'queued->failed',
      'delivering->queued',
      'delivering->delivered',
      'delivering->failed'
    ])
    // Nothing goes back to unresolved, and an unresolved share is never claimed for delivery.
    expect(DELIVERY_STATES.filter((from) => canTransition(from, 'unresolved'))).toEqual([])
    expect(canTransition('unresolved', 'delivering')).toBe(false)
    for (const final of ['delivered', 'failed', 'received'] as const)
      expect(SHARE_TRANSITIONS[final]).toEqual([])
  })

  it('tells a share still addressed to an Ethereum address from one resolved to a PeerId', () => {
    expect(recipientResolved({ direction: 'out', recipient: `0x${'a'.repeat(40)}` })).toBe(false)
    expect(recipientResolved({ direction: 'out', recipient: `12D3KooW${'a'.repeat(44)}` })).toBe(true)
    expect(recipientResolved({ direction: 'in', recipient: `12D3KooW${'a'.repeat(44)}` })).toBe(true)
  })

  it('keeps the envelope header codes 1..3 and the contract codes 0..2', () => {
    expect(TIER_ENVELOPE_CODE).toEqual({ standard: 1, high: 2, maximum: 3 })
    expect(TIER_CHAIN_CODE).toEqual({ standard: 0, high: 1, maximum: 2 })
  })

  it('reads every code back to its tier and names no tier for an unknown code', () => {
    for (const tier of TIERS) {
      expect(tierOfEnvelopeCode(TIER_ENVELOPE_CODE[tier])).toBe(tier)
      expect(tierOfChainCode(TIER_CHAIN_CODE[tier])).toBe(tier)
    }
    expect(tierOfEnvelopeCode(0)).toBeUndefined()
    expect(tierOfEnvelopeCode(4)).toBeUndefined()
    expect(tierOfChainCode(3)).toBeUndefined()
  })

  it('tells identifiers apart by their shape', () => {
    expect(ETH_ADDRESS_PATTERN.test('0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01')).toBe(true)
    expect(ETH_ADDRESS_PATTERN.test('0x742d35Cc6634C0532925a3b844Bc9e7595f1dE0')).toBe(false)
    expect(PEER_ID_PATTERN.test('12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')).toBe(true)
    // base58btc has no 0, O, I or l.
    expect(PEER_ID_PATTERN.test('12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2X0')).toBe(false)
    expect(SHARE_ID_PATTERN.test('5f0c2a0e9b7d4c1e8a6b3d2f1e0c9b8a')).toBe(true)
    expect(SHARE_ID_PATTERN.test('5F0C2A0E9B7D4C1E8A6B3D2F1E0C9B8A')).toBe(false)
    const hash = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9'
    expect(DATA_HASH_PATTERN.test(hash)).toBe(true)
    expect(DATA_HASH_PATTERN.test(hash.toUpperCase())).toBe(false)
    expect(DATA_HASH_INPUT_PATTERN.test(hash.toUpperCase())).toBe(true)
  })
})
