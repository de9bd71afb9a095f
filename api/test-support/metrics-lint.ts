/**
 * A strict reading of the Prometheus text exposition format (version 0.0.4) with the rules of
 * `promtool check metrics` on top, for tests: promtool itself is not part of the toolchain. It
 * returns every problem found; an empty list means the exposition is clean.
 *
 * Format: HELP and TYPE at most once per family and before its samples, a family's samples
 * together, valid metric and label names, quoted label values with only `\\`, `\"` and `\n`
 * escapes, numeric values, no series twice, histograms with cumulative buckets up to `+Inf`
 * matching `_count`. Lint: every family has HELP and TYPE, counters end in `_total` and nothing
 * else does, `_bucket`/`_count`/`_sum` and `le`/`quantile` only where they belong, snake_case names
 * without colons or type names, base units only (seconds, bytes) and unabbreviated, and no counter
 * whose name without `_total` is another family's.
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
/** As Go's strconv.ParseFloat reads them, which Prometheus uses: Inf and NaN in any case. */
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity)|nan)$/i
/** Units promtool refuses in names: the base units are seconds and bytes. */
const NON_BASE_UNITS = [
  'nanoseconds',
  'microseconds',
  'milliseconds',
  'minutes',
  'hours',
  'days',
  'weeks',
  'kilobytes',
  'megabytes',
  'gigabytes',
  'kibibytes',
  'mebibytes'
]
/** Abbreviated units promtool refuses (client_golang's promlint). */
const ABBREVIATED_UNITS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd']
/** Type names promtool refuses inside a metric's name. */
const TYPE_WORDS = ['counter', 'gauge', 'histogram', 'summary']

interface Family {
  type?: string
  help?: string
  /** Line of the first sample, once seen. */
  firstSample?: number
  closed: boolean
}

interface Sample {
  readonly name: string
  readonly labels: ReadonlyMap<string, string>
  readonly value: number
}

/** Reads `{a="x",b="y"}` strictly; throws on anything else. */
function parseLabels(text: string): Map<string, string> {
  const labels = new Map<string, string>()
  let i = 0
  while (i < text.length) {
    const eq = text.indexOf('=', i)
    if (eq < 0) throw new Error(`label without value in {${text}}`)
    const name = text.slice(i, eq)
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`invalid label name ${name}`)
    if (labels.has(name)) throw new Error(`label ${name} given twice`)
    if (text[eq + 1] !== '"') throw new Error(`label ${name}'s value is not quoted`)
    let value = ''
    let j = eq + 2
    for (;;) {
      const ch = text[j]
      if (ch === undefined) throw new Error(`label ${name}'s value is not closed`)
      if (ch === '"') break
      if (ch === '\n') throw new Error(`label ${name}'s value holds a raw newline`)
      if (ch === '\\') {
        const next = text[j + 1]
        if (next === '\\' || next === '"') value += next
        else if (next === 'n') value += '\n'
        else throw new Error(`label ${name}'s value has an invalid escape \\${next ?? ''}`)
        j += 2
        continue
      }
      value += ch
      j += 1
    }
    labels.set(name, value)
    i = j + 1
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`expected , after label ${name}`)
      i += 1
    }
  }
  return labels
}

function parseSample(line: string): Sample {
  const brace = line.indexOf('{')
  let name: string
  let labels = new Map<string, string>()
  let rest: string
  if (brace >= 0 && brace < (line.indexOf(' ') < 0 ? line.length : line.indexOf(' '))) {
    name = line.slice(0, brace)
    const close = line.lastIndexOf('}')
    if (close < brace) throw new Error('labels not closed')
    labels = parseLabels(line.slice(brace + 1, close))
    rest = line.slice(close + 1)
  } else {
    const space = line.indexOf(' ')
    name = line.slice(0, space < 0 ? line.length : space)
    rest = space < 0 ? '' : line.slice(space)
  }
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`)
  const parts = rest.trim().split(' ')
  const [valueText, timestamp, extra] = parts
  if (valueText === undefined || !VALUE.test(valueText)) throw new Error(`invalid value ${valueText ?? ''}`)
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new Error(`invalid timestamp ${timestamp}`)
  if (extra !== undefined) throw new Error('text after the timestamp')
  const lower = valueText.toLowerCase().replace(/^\+/, '')
  const value = lower.startsWith('inf') ? Infinity : lower.startsWith('-inf') ? -Infinity : Number(valueText)
  return { name, labels, value }
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: ReadonlyMap<string, Family>): string {
  if (families.has(name)) return name
  for (const suffix of ['_bucket', '_count', '_sum']) {
    if (!name.endsWith(suffix)) continue
    const base = name.slice(0, -suffix.length)
    const type = families.get(base)?.type
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base
  }
  return name
}

const seriesKey = (name: string, labels: ReadonlyMap<string, string>, drop?: string) =>
  `${name}{${[...labels]
    .filter(([k]) => k !== drop)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`

export function lintExposition(text: string): string[] {
  const problems: string[] = []
  const families = new Map<string, Family>()
  const seen = new Set<string>()
  const histograms = new Map<string, { buckets: [number, number][]; count?: number }>()
  let current: string | undefined
  const family = (name: string): Family => {
    let f = families.get(name)
    if (!f) {
      f = { closed: false }
      families.set(name, f)
    }
    return f
  }
  const enter = (name: string, at: number) => {
    if (current === name) return
    if (current !== undefined) family(current).closed = true
    if (families.get(name)?.closed) problems.push(`line ${at}: ${name}'s lines are not together`)
    current = name
  }
  if (text.length > 0 && !text.endsWith('\n')) problems.push('the exposition does not end with a newline')
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  lines.forEach((line, index) => {
    const at = index + 1
    if (line.trim() === '') return
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
    if (meta) {
      const [, kind, name = '', rest = ''] = meta
      if (!METRIC_NAME.test(name)) problems.push(`line ${at}: invalid metric name ${name}`)
      enter(name, at)
      const f = family(name)
      if (kind === 'HELP') {
        if (f.help !== undefined) problems.push(`line ${at}: second HELP for ${name}`)
        f.help = rest
      } else {
        if (f.type !== undefined) problems.push(`line ${at}: second TYPE for ${name}`)
        if (f.firstSample !== undefined) problems.push(`line ${at}: TYPE of ${name} after its samples`)
        if (!TYPES.has(rest)) problems.push(`line ${at}: unknown type ${rest} for ${name}`)
        f.type = rest
      }
      return
    }
    if (line.startsWith('#')) return
    let sample: Sample
    try {
      sample = parseSample(line)
    } catch (err) {
      problems.push(`line ${at}: ${(err as Error).message}: ${line}`)
      return
    }
    const name = familyOf(sample.name, families)
    enter(name, at)
    const f = family(name)
    f.firstSample ??= at
    const key = seriesKey(sample.name, sample.labels)
    if (seen.has(key)) problems.push(`line ${at}: series ${key} given twice`)
    seen.add(key)
    if (sample.labels.has('le') && f.type !== 'histogram')
      problems.push(`line ${at}: le label on a ${f.type}`)
    if (sample.labels.has('quantile') && f.type !== 'summary') {
      problems.push(`line ${at}: quantile label on a ${f.type}`)
    }
    if (f.type === 'histogram') {
      if (sample.name === name) problems.push(`line ${at}: histogram ${name} has a bare sample`)
      const hKey = seriesKey(name, sample.labels, 'le')
      const h = histograms.get(hKey) ?? { buckets: [] }
      histograms.set(hKey, h)
      if (sample.name.endsWith('_bucket')) {
        const le = sample.labels.get('le')
        if (le === undefined) problems.push(`line ${at}: bucket without le`)
        else h.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value])
      } else if (sample.name.endsWith('_count')) h.count = sample.value
    }
  })
  for (const [key, h] of histograms) {
    const sorted = [...h.buckets].sort((a, b) => a[0] - b[0])
    if (sorted.at(-1)?.[0] !== Infinity) problems.push(`histogram ${key} has no +Inf bucket`)
    for (let i = 1; i < sorted.length; i++) {
      if ((sorted[i]?.[1] ?? 0) < (sorted[i - 1]?.[1] ?? 0))
        problems.push(`histogram ${key} buckets decrease`)
    }
    if (h.count !== undefined && sorted.at(-1)?.[1] !== h.count) {
      problems.push(`histogram ${key}: _count differs from the +Inf bucket`)
    }
  }
  for (const [name, f] of families) {
    if (f.help === undefined || f.help.trim() === '') problems.push(`${name}: no HELP text`)
    if (f.type === undefined) problems.push(`${name}: no TYPE`)
    if (name !== name.toLowerCase()) problems.push(`${name}: not snake_case`)
    if (f.type === 'counter' && !name.endsWith('_total')) problems.push(`${name}: a counter without _total`)
    if (f.type !== 'counter' && name.endsWith('_total')) problems.push(`${name}: _total on a ${f.type}`)
    if (f.type !== 'histogram' && f.type !== 'summary' && /_(?:bucket|count|sum)$/.test(name)) {
      problems.push(`${name}: _bucket, _count or _sum on a ${f.type}`)
    }
    const words = name.split('_')
    for (const unit of NON_BASE_UNITS) {
      if (words.includes(unit)) problems.push(`${name}: non-base unit ${unit}`)
    }
    for (const unit of ABBREVIATED_UNITS) {
      if (words.includes(unit)) problems.push(`${name}: abbreviated unit ${unit}`)
    }
    for (const word of TYPE_WORDS) {
      if (words.includes(word)) problems.push(`${name}: the type ${word} in the name`)
    }
    if (name.includes(':')) problems.push(`${name}: a colon, reserved for recording rules`)
    if (f.type === 'counter' && families.has(name.slice(0, -'_total'.length))) {
      problems.push(`${name}: clashes with the family ${name.slice(0, -'_total'.length)}`)
    }
  }
  return problems
}
