import { describe, expect, it } from 'vitest'
import { duplicateKeys } from './json-keys.ts'

describe('duplicateKeys', () => {
  it('finds a key repeated in one object, at any depth, and ignores keys repeated across objects', () => {
    expect(duplicateKeys('{"pid":1,"msg":"x","pid":2}')).toEqual(['pid'])
    expect(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":1},{"d":2}]}')).toEqual(['a.b'])
    expect(duplicateKeys('{"msg":"a \\"pid\\": 1","pid":1}')).toEqual([])
  })
})
