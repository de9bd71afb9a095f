import { describe, expect, it } from 'vitest'
import { recoverTimestamp } from './bundle-inbound.ts'
import { shareLeaf } from './leaves.ts'

const record = {
  shareId: 'a'.repeat(32),
  dataHash: 'b'.repeat(64),
  sender: '12D3KooWA1111111111111111111111111111111111111111111',
  recipient: '12D3KooWB2222222222222222222222222222222222222222222',
  tier: 'standard' as const
}
const receivedAt = 1_700_000_000_000

describe("recovering the sender's queue time of an inbound share", () => {
  it('finds it before the receive time, after it (clock skew) and at it', () => {
    for (const t of [receivedAt - 1234, receivedAt + 77, receivedAt, receivedAt - 300_000]) {
      expect(recoverTimestamp(record, receivedAt, shareLeaf({ ...record, timestamp: t }))).toBe(t)
    }
  })

  it('gives up outside the replay window, and for a leaf of another record', () => {
    expect(
      recoverTimestamp(record, receivedAt, shareLeaf({ ...record, timestamp: receivedAt - 300_001 }))
    ).toBe(undefined)
    const other = shareLeaf({ ...record, tier: 'high', timestamp: receivedAt - 5 })
    expect(recoverTimestamp(record, receivedAt, other)).toBeUndefined()
  })
})
