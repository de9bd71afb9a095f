import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  canonicalReceipt,
  parseCanonicalReceipt,
  type ReceiptBody,
  receiptHash,
  validateReceiptBody
} from './receipt.ts'

const body: ReceiptBody = {
  v: 1,
  shareId: '0123456789abcdef0123456789abcdef',
  dataHash: 'ab'.repeat(32),
  sender: '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK',
  recipient: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N',
  tier: 'high',
  receivedAt: 1_790_000_000_123
}

describe('canonical receipt', () => {
  it('encodes the documented key order without whitespace', () => {
    expect(new TextDecoder().decode(canonicalReceipt(body))).toBe(
      '{"v":1,"shareId":"0123456789abcdef0123456789abcdef","dataHash":"' +
        'ab'.repeat(32) +
        '","sender":"12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK","recipient":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","tier":"high","receivedAt":1790000000123}'
    )
  })

  it('hashes to SHA-256 of those bytes whatever the key order of the object given', () => {
    const shuffled = Object.fromEntries(Object.entries(body).reverse()) as unknown as ReceiptBody
    const expected = createHash('sha256').update(canonicalReceipt(body)).digest()
    expect(Buffer.from(receiptHash(shuffled)).equals(expected)).toBe(true)
  })

  it('encodes and hashes a validated body once, and freezes it so the bytes stay its own', () => {
    const validated = validateReceiptBody({ ...body })
    expect(Object.isFrozen(validated)).toBe(true)
    expect(validateReceiptBody(validated)).toBe(validated)
    expect(canonicalReceipt(validated)).toBe(canonicalReceipt(validated))
    expect(receiptHash(validated)).toBe(receiptHash(validated))
    expect(Buffer.from(receiptHash(validated)).equals(Buffer.from(receiptHash(body)))).toBe(true)
  })

  it('round-trips and refuses non-canonical bytes', () => {
    expect(parseCanonicalReceipt(canonicalReceipt(body))).toEqual(body)
    const spaced = new TextEncoder().encode(JSON.stringify(body, null, 1))
    expect(() => parseCanonicalReceipt(spaced)).toThrow(
      expect.objectContaining({ name: 'InvalidReceiptError' })
    )
  })

  it('refuses a receipt with a bad or extra field', () => {
    for (const bad of [
      { ...body, shareId: 'xyz' },
      { ...body, dataHash: 'AB'.repeat(32) },
      { ...body, tier: 'ultra' },
      { ...body, receivedAt: 1.5 },
      { ...body, sender: 'not a peer id!' },
      { ...body, extra: 1 }
    ]) {
      expect(() => canonicalReceipt(bad as ReceiptBody)).toThrow(
        expect.objectContaining({ name: 'InvalidReceiptError' })
      )
    }
  })
})
