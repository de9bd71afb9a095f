import { describe, expect, it } from 'vitest'
import { HeldPlaintext } from './held-plaintext.ts'

describe('held plaintext', () => {
  it('gives an entry back once, then forgets it', () => {
    const held = new HeldPlaintext(100)
    const bytes = new Uint8Array([1, 2, 3])
    held.hold('a', bytes)
    expect(held.take('a')).toBe(bytes)
    expect(held.take('a')).toBeUndefined()
    expect(held.bytes).toBe(0)
  })

  it('stays within its bound, oldest out, and holds nothing larger than the bound', () => {
    const held = new HeldPlaintext(100)
    held.hold('a', new Uint8Array(40))
    held.hold('b', new Uint8Array(40))
    held.hold('c', new Uint8Array(40))
    expect(held.bytes).toBe(80)
    expect(held.take('a')).toBeUndefined()
    expect(held.take('b')).toHaveLength(40)
    held.hold('huge', new Uint8Array(101))
    expect(held.take('huge')).toBeUndefined()
    expect(held.take('c')).toHaveLength(40)
  })
})
