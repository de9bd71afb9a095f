/**
 * Keys that appear more than once in one JSON object of `text` (JSON.parse keeps only the last, so
 * a duplicate is invisible after parsing). Each is given as its path, e.g. `pid` or `a.b`.
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = []
  const stack: { keys: Set<string>; path: string; isObject: boolean; lastKey?: string }[] = []
  let i = 0
  const readString = (): string => {
    let out = ''
    i++ // opening quote
    while (text[i] !== '"') {
      if (text[i] === '\\') {
        out += text.slice(i, i + 2)
        i += 2
      } else out += text[i++]
    }
    i++ // closing quote
    return out
  }
  while (i < text.length) {
    const ch = text[i] as string
    const top = stack[stack.length - 1]
    if (ch === '{' || ch === '[') {
      const path =
        top?.lastKey === undefined ? (top?.path ?? '') : top.path ? `${top.path}.${top.lastKey}` : top.lastKey
      stack.push({ keys: new Set(), path, isObject: ch === '{' })
      i++
    } else if (ch === '}' || ch === ']') {
      stack.pop()
      i++
    } else if (ch === '"') {
      const value = readString()
      let j = i
      while (text[j] === ' ') j++
      if (top?.isObject && text[j] === ':') {
        const path = top.path ? `${top.path}.${value}` : value
        if (top.keys.has(value)) found.push(path)
        top.keys.add(value)
        top.lastKey = value
      }
    } else i++
  }
  return found
}

// The API's field names: lowercase words joined by `_`; a leading `_` marks metadata (`_metadata`).
const SNAKE_CASE = /^_?[a-z][a-z0-9]*(_[a-z0-9]+)*$/

/**
 * Object keys in `value`, at any depth, that are not snake_case, each given as its path (`a.b`,
 * `[0].peerId`). Keys under a field named in `dataKeys` are data (a map keyed by version or PeerId)
 * and are not checked.
 */
export function nonSnakeCaseKeys(value: unknown, dataKeys: readonly string[] = [], path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeCaseKeys(v, dataKeys, `${path}[${i}]`))
  if (value === null || typeof value !== 'object') return []
  const found: string[] = []
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k
    if (!SNAKE_CASE.test(k)) found.push(at)
    if (!dataKeys.includes(k)) found.push(...nonSnakeCaseKeys(v, dataKeys, at))
  }
  return found
}
