import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { fernetDecrypt, fernetEncrypt, generateFernetKey } from '../../node/crypto/index.ts'

/** Interop with the `fernet` npm package (crypto-js inside): a second, independent implementation. */

interface FernetToken {
  encode(message: string): string
  decode(token: string): string
}
interface FernetModule {
  Secret: new (key: string) => unknown
  Token: new (opts: { secret: unknown; ttl?: number; token?: string; time?: Date }) => FernetToken
}
const fernet = createRequire(import.meta.url)('fernet') as FernetModule

// The package handles messages as UTF-8 strings, so the payloads are text (multi-byte characters included).
const MESSAGES = [
  '',
  'a',
  'fifteen chars!!',
  'sixteen chars!!!',
  'grüße, 世界 ✓',
  'x'.repeat(64 * 1024),
  'y'.repeat(1024 * 1024)
]

describe('Fernet interop with the fernet npm package', () => {
  it('decrypts tokens made by the package, of every size', () => {
    const key = generateFernetKey()
    const secret = new fernet.Secret(key)
    for (const message of MESSAGES) {
      const token = new fernet.Token({ secret, ttl: 0 }).encode(message)
      expect(Buffer.from(fernetDecrypt(key, token)).toString('utf8')).toBe(message)
    }
  })

  it('makes tokens the package decrypts, of every size', () => {
    const key = generateFernetKey()
    const secret = new fernet.Secret(key)
    for (const message of MESSAGES) {
      const token = fernetEncrypt(key, Buffer.from(message, 'utf8'))
      expect(new fernet.Token({ secret, ttl: 0, token }).decode(token)).toBe(message)
    }
  })

  it('agrees with the package that a token under another key or altered is invalid', () => {
    const key = generateFernetKey()
    const token = fernetEncrypt(key, Buffer.from('hello'))
    const other = new fernet.Secret(generateFernetKey())
    expect(() => new fernet.Token({ secret: other, ttl: 0 }).decode(token)).toThrow()
    const altered = `${token.slice(0, 40)}${token[40] === 'A' ? 'B' : 'A'}${token.slice(41)}`
    expect(() => new fernet.Token({ secret: new fernet.Secret(key), ttl: 0 }).decode(altered)).toThrow()
    expect(() => fernetDecrypt(key, altered)).toThrow(expect.objectContaining({ name: 'FernetBadMacError' }))
  })
})
