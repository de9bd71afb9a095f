import { describe, expect, it } from 'vitest'
import { parserErrorAnswer } from './parser-errors.ts'

describe('parserErrorAnswer', () => {
  it("gives each of Node's parser and timeout codes its status and stable code", () => {
    const cases: [string | undefined, number, string][] = [
      ['HPE_HEADER_OVERFLOW', 431, 'headers_too_large'],
      ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413, 'chunk_extensions_too_large'],
      ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'request_timeout'],
      ['HPE_INVALID_METHOD', 400, 'bad_request'],
      [undefined, 400, 'bad_request']
    ]
    for (const [code, status, stable] of cases) {
      const answer = parserErrorAnswer(code)
      expect(answer.status, code).toBe(status)
      expect(answer.body.code, code).toBe(stable)
    }
  })
})
