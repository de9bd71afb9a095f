import { z } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from './context.ts'
import { FieldValidationError } from './errors.ts'
import { onlyQueryParameters } from './middleware/query-parameters.ts'

/**
 * Pages of the APIs' lists. A list answers at most `limit` items and `next_after`, the cursor to
 * send as `after=` for the next page, null on the last page. Cursors are keyset positions (the
 * list's unique order key, the storage order where there is one), so items stored while a client
 * pages never repeat or shift the pages after its cursor. They are opaque: base64url JSON naming the
 * list, checked when they come back.
 */

/** The answer field that holds the next page's cursor, in every list. */
export const NEXT_CURSOR_FIELD = 'next_after'

type Position = readonly (string | number)[]

export function encodeCursor(list: string, position: Position): string {
  return Buffer.from(JSON.stringify([list, ...position])).toString('base64url')
}

/**
 * The position an `after=` cursor names; 422 (field `after`) unless it is a cursor of `list` whose
 * parts have the types of `shape` (`'n'` a non-negative integer, `'i'` an integer from -1, `'s'` a
 * string).
 */
export function decodeCursor(list: string, raw: string, shape: readonly ('n' | 'i' | 's')[]): Position {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
  } catch {
    parsed = undefined
  }
  if (
    !Array.isArray(parsed) ||
    parsed[0] !== list ||
    parsed.length !== shape.length + 1 ||
    !shape.every((t, i) => {
      const v: unknown = parsed[i + 1]
      if (t === 's') return typeof v === 'string'
      return Number.isSafeInteger(v) && (v as number) >= (t === 'n' ? 0 : -1)
    })
  ) {
    throw new FieldValidationError(
      'after',
      `after is not a cursor of this list; send the ${NEXT_CURSOR_FIELD} of its previous page`
    )
  }
  return parsed.slice(1) as Position
}

/** `?after=`: the cursor of the previous page. */
export const afterQuery = z
  .string()
  .min(1)
  .max(512)
  .optional()
  .openapi({
    param: { name: 'after', in: 'query' },
    description: `the ${NEXT_CURSOR_FIELD} of the previous page; absent for the first page`
  })

/** Refuses a query parameter `schema` does not name (422 `unknown_query_parameter`, naming it). */
export function knownQuery(schema: z.ZodObject): MiddlewareHandler<ApiEnv> {
  return onlyQueryParameters(Object.keys(schema.shape))
}

/** The page of a list held whole in memory, ordered by `position`, after the cursor `after`. */
export function pageOf<T>(
  items: readonly T[],
  position: (item: T) => Position,
  after: Position | undefined,
  limit: number
): { items: T[]; next: Position | null } {
  const sorted = [...items].sort((a, b) => compare(position(a), position(b)))
  const rest = after === undefined ? sorted : sorted.filter((item) => compare(position(item), after) > 0)
  const page = rest.slice(0, limit)
  const last = page[page.length - 1]
  return { items: page, next: rest.length > limit && last !== undefined ? position(last) : null }
}

function compare(a: Position, b: Position): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i]
    const y = b[i]
    if (x === y) continue
    if (x === undefined) return -1
    if (y === undefined) return 1
    return x < y ? -1 : 1
  }
  return 0
}
