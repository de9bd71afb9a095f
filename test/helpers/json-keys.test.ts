import { describe, expect, it } from 'vitest'
import { duplicateKeys, nonSnakeCaseKeys } from './json-keys.ts'

describe('duplicateKeys', () => {
  it('finds a key repeated in one object, at any depth, and ignores keys repeated across objects', () => {
    expect(duplicateKeys('{"pid":1,"msg":"x","pid":2}')).toEqual(['pid'])
    expect(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":1},{"d":2}]}')).toEqual(['a.b'])
    expect(duplicateKeys('{"msg":"a \\"pid\\": 1","pid":1}')).toEqual([])
  })
})

describe('nonSnakeCaseKeys', () => {
  it('names each camelCase or otherwise cased key with its path, at any depth, and skips data maps', () => {
    expect(nonSnakeCaseKeys([{ peer_id: 'x', _metadata: {}, a2: 1 }])).toEqual([])
    expect(nonSnakeCaseKeys([{ peerId: 'x', ok: { firstBad: 1, Upper: 2, 'a-b': 3, b__c: 4 } }])).toEqual([
      '[0].peerId',
      '[0].ok.firstBad',
      '[0].ok.Upper',
      '[0].ok.a-b',
      '[0].ok.b__c'
    ])
    expect(nonSnakeCaseKeys({ records_by_version: { '1': 3 } }, ['records_by_version'])).toEqual([])
    expect(nonSnakeCaseKeys({ records_by_version: { '1': 3 } })).toEqual(['records_by_version.1'])
  })
})
