/**
 * JSON numbers that JavaScript cannot hold exactly. `JSON.parse` reads every number as a double, so
 * `999999999999999999999999999999` arrives as `1e30` and `1.0000000000000001` as `1`: the value a
 * schema sees is not the one the client sent. RFC 8259 section 6 names integers beyond 2^53 - 1 as
 * not interoperable; such values must travel as strings.
 */

// A double's largest finite value has 309 integer digits; a literal with more significant digits
// cannot be an exact double, and BigInt() of a huge digit string would be slow.
const MAX_EXACT_DIGITS = 400
const NUMBER_TOKEN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const DECIMAL_PARTS = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/

/**
 * The path (`a.b.0`, as validation errors name fields; `body` for a bare number) of the first
 * number in `text` whose double is an integer other than the number written (or infinite), or
 * undefined when there is none. `text` must be valid JSON (it is scanned, not parsed, and never recursively, so
 * deep nesting costs no stack). Numbers with a fractional value are decimals as usual and pass.
 */
export function impreciseNumberPath(text: string): string | undefined {
  // One entry per open container: the current key of an object, the current index of an array.
  const path: (string | number)[] = []
  const inArray: boolean[] = []
  let expectKey = false
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (ch === '"') {
      const end = stringEnd(text, i)
      if (expectKey) {
        path[path.length - 1] = JSON.parse(text.slice(i, end)) as string
        expectKey = false
      }
      i = end
      continue
    }
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      NUMBER_TOKEN.lastIndex = i
      const token = NUMBER_TOKEN.exec(text)?.[0] ?? ch
      if (isImprecise(token)) return path.length === 0 ? 'body' : path.join('.')
      i += token.length
      continue
    }
    if (ch === '{' || ch === '[') {
      inArray.push(ch === '[')
      path.push(ch === '[' ? 0 : '')
      expectKey = ch === '{'
    } else if (ch === '}' || ch === ']') {
      inArray.pop()
      path.pop()
    } else if (ch === ',') {
      if (inArray[inArray.length - 1]) path[path.length - 1] = (path[path.length - 1] as number) + 1
      else expectKey = true
    }
    i++
  }
  return undefined
}

/** The index just past the string literal that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let from = start + 1
  for (;;) {
    const quote = text.indexOf('"', from)
    if (quote < 0) return text.length
    let backslashes = 0
    for (let k = quote - 1; text[k] === '\\'; k--) backslashes++
    if (backslashes % 2 === 0) return quote + 1
    from = quote + 1
  }
}

function isImprecise(token: string): boolean {
  const value = Number(token)
  // A literal beyond the double range arrives as Infinity.
  if (!Number.isFinite(value)) return true
  if (!Number.isInteger(value)) return false
  const exact = exactInteger(token)
  return exact === undefined || exact !== BigInt(value)
}

/** The integer a decimal literal denotes exactly, or undefined when it has a fractional part. */
function exactInteger(token: string): bigint | undefined {
  const m = DECIMAL_PARTS.exec(token)
  if (!m) return undefined
  const fraction = m[3] ?? ''
  let digits = ((m[2] ?? '') + fraction).replace(/^0+/, '')
  if (digits === '') return 0n
  let exponent = Number(m[4] ?? '0') - fraction.length
  // Trailing zeros absorb a negative exponent (100e-2 is 1); counted by hand, since a regex such
  // as /0*$/ backtracks quadratically on a long run of digits.
  let zeros = 0
  while (exponent + zeros < 0 && digits[digits.length - 1 - zeros] === '0') zeros++
  digits = digits.slice(0, digits.length - zeros)
  exponent += zeros
  if (exponent < 0) return undefined
  if (digits.length + exponent > MAX_EXACT_DIGITS) return undefined
  const magnitude = BigInt(digits) * 10n ** BigInt(exponent)
  return m[1] === '-' ? -magnitude : magnitude
}
