import { describe, expect, it } from 'vitest'
import { impreciseNumberPath } from './json-numbers.ts'

describe('impreciseNumberPath', () => {
  it('names an integer beyond 2^53 that a double rounds', () => {
    expect(impreciseNumberPath('{"data":"x","payment_amount":999999999999999999999999999999}')).toBe(
      'payment_amount'
    )
    expect(impreciseNumberPath('{"a":9007199254740993}')).toBe('a')
    expect(impreciseNumberPath('{"a":1e30}')).toBe('a')
  })

  it('names a fraction that a double rounds to an integer', () => {
    expect(impreciseNumberPath('{"a":1.0000000000000001}')).toBe('a')
  })

  it('passes numbers a double holds exactly, and ordinary decimals', () => {
    for (const text of [
      '{"a":9007199254740991,"b":-9007199254740991}',
      '{"a":1e18,"b":100e-2,"c":1.5,"d":0.1,"e":-0,"f":0e999,"g":1152921504606846976}',
      '[1,2,3]',
      '42'
    ]) {
      expect(impreciseNumberPath(text), text).toBeUndefined()
    }
  })

  it('ignores digits inside strings, escaped quotes included', () => {
    expect(impreciseNumberPath('{"data":"999999999999999999999999999999 \\" 1e30","n":1}')).toBeUndefined()
    expect(impreciseNumberPath('{"9999999999999999999999":"\\\\","ok":2}')).toBeUndefined()
  })

  it('gives the full path through objects and arrays', () => {
    expect(impreciseNumberPath('{"a":{"b":[1,2,{"c":3},99999999999999999999]}}')).toBe('a.b.3')
    expect(impreciseNumberPath('{"x":[],"y":{},"z":{"k\\"ey":[0,[1,1e300]]}}')).toBe('z.k"ey.1.1')
    expect(impreciseNumberPath('123456789012345678901234567890')).toBe('body')
  })

  it('scans deep nesting without recursion', () => {
    const deep = `${'['.repeat(200_000)}99999999999999999999${']'.repeat(200_000)}`
    expect(impreciseNumberPath(deep)).toBe(Array(200_000).fill('0').join('.'))
  })

  it('reads long literals in linear time: exact when zeros cancel the exponent, refused when infinite', () => {
    expect(impreciseNumberPath(`{"a":1${'0'.repeat(500_000)}e-499990}`)).toBeUndefined()
    expect(impreciseNumberPath(`{"a":1${'0'.repeat(500_000)}}`)).toBe('a')
    expect(impreciseNumberPath(`{"a":1${'0'.repeat(400)}1}`)).toBe('a')
  })
})
