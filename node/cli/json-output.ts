import type { CliContext } from './context.ts'

/**
 * The CLI's one JSON style, as the APIs answer: field names in snake_case, times as the API gives
 * them (ISO-8601 UTC strings in `*_at`; Unix seconds in a chain event's `timestamp`), a list as one
 * JSON array and a single thing as one JSON object, each on one line.
 */

// Only identifier-like names change: keys that are data (a PeerId, a hash, a version number) stay.
const CAMEL_NAME = /^[a-z][a-zA-Z0-9]*$/

/** `peerId` -> `peer_id`, `latencyMs` -> `latency_ms`; other keys as they are. */
export function snakeCaseName(name: string): string {
  if (!CAMEL_NAME.test(name)) return name
  return name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)
}

/** A copy of `value` with every object key in snake_case, at any depth. */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys)
  if (value === null || typeof value !== 'object') return value
  // A Date, a Buffer or another class instance is printed by its own toJSON.
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[snakeCaseName(k)] = snakeCaseKeys(v)
  return out
}

/** Prints a list as one JSON array (`[]` when empty). */
export function printJsonArray(ctx: CliContext, rows: readonly unknown[]): void {
  ctx.print(JSON.stringify(rows.map(snakeCaseKeys)))
}

/** Prints one JSON object. */
export function printJsonObject(ctx: CliContext, value: object): void {
  ctx.print(JSON.stringify(snakeCaseKeys(value)))
}
