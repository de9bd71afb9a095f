import { describe, expect, it } from 'vitest'
import { snakeCaseKeys, snakeCaseName } from './json-output.ts'

describe('snakeCaseName', () => {
  it('turns camelCase field names into the API snake_case and leaves data keys alone', () => {
    expect(snakeCaseName('peerId')).toBe('peer_id')
    expect(snakeCaseName('lastSeenAt')).toBe('last_seen_at')
    expect(snakeCaseName('tpm2bPublic')).toBe('tpm2b_public')
    expect(snakeCaseName('data_hash')).toBe('data_hash')
    for (const key of [
      '12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECJ2wxMeiiGtyXs7e',
      'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N',
      '0xAbC',
      '1',
      'Upper'
    ]) {
      expect(snakeCaseName(key)).toBe(key)
    }
  })
})

describe('snakeCaseKeys', () => {
  it('renames keys at every depth and keeps values, arrays and nulls as they are', () => {
    expect(
      snakeCaseKeys([{ shareId: 'a', status: { lastError: null, txHash: 'ab' }, ids: ['peerId'] }])
    ).toEqual([{ share_id: 'a', status: { last_error: null, tx_hash: 'ab' }, ids: ['peerId'] }])
  })
})
