/**
 * Strict base64 decoding. Node's `Buffer.from(s, 'base64')` silently skips invalid characters and
 * accepts missing padding; Python's decoders refuse both, and so must we for tokens and key files.
 */

const URLSAFE = /^[A-Za-z0-9_-]*={0,2}$/
const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/

function strict(text: string, alphabet: RegExp, encoding: 'base64' | 'base64url'): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !alphabet.test(text)) return undefined
  const bytes = Buffer.from(text, encoding)
  // Rejects non-canonical trailing bits ("AB==" and "AC==" decode alike) by re-encoding.
  const again = encoding === 'base64' ? bytes.toString('base64') : toUrlsafeBase64(bytes)
  return again === text ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : undefined
}

/** Url-safe base64 with padding, as Python's `base64.urlsafe_b64encode`. */
export function toUrlsafeBase64(bytes: Uint8Array): string {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url')
  return s + '='.repeat((4 - (s.length % 4)) % 4)
}

/** Decodes padded url-safe base64; `undefined` for anything Python would refuse. */
export function fromUrlsafeBase64(text: string): Uint8Array | undefined {
  return strict(text, URLSAFE, 'base64url')
}

/** Decodes padded standard base64; `undefined` for anything Python's `b64decode(validate=True)` refuses. */
export function fromStandardBase64(text: string): Uint8Array | undefined {
  return strict(text, STANDARD, 'base64')
}
