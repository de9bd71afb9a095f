/**
 * autocannon against one POST, with or without a fresh Idempotency-Key on every request, printing
 * autocannon's JSON result as `autocannon -j` does (run.ts reads it). Both variants come from this
 * one load generator, so they differ in the header only. autocannon's command line cannot vary a
 * header per request (its argument parser takes `[<id>]` for a sub-argument); its API can:
 *
 *   node bench/api/share-load.ts fresh-key|no-key URL CONNECTIONS SECONDS API_KEY BODY [RATE]
 *
 * With RATE, requests go at that many per second in all (autocannon's `overallRate`), below what the
 * node can take, so a run prices the work per request rather than the saturation point.
 *
 * Each request carries data of its own: BODY's hex `data` is replaced by fresh random bytes of the
 * same size, so every share is a new record (encrypted at rest and stored by sender and recipient),
 * as in use, and not one record shared by all.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'

interface Request {
  headers?: Record<string, string>
  body?: string
}
type Autocannon = (opts: Record<string, unknown>) => Promise<unknown>

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
const [mode, url, connections, seconds, apiKey, body, rate] = process.argv.slice(2)
if (
  (mode !== 'fresh-key' && mode !== 'no-key') ||
  !url ||
  !connections ||
  !seconds ||
  !apiKey ||
  body === undefined
) {
  throw new Error('usage: share-load.ts fresh-key|no-key URL CONNECTIONS SECONDS API_KEY BODY [RATE]')
}
const template = JSON.parse(body) as Record<string, unknown>
const dataBytes = typeof template['data'] === 'string' ? template['data'].length / 2 : 0
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
  body,
  ...(rate ? { overallRate: Number(rate) } : {}),
  requests: [
    {
      setupRequest: (req: Request) => ({
        ...req,
        body: JSON.stringify({ ...template, data: randomBytes(dataBytes).toString('hex') }),
        headers: mode === 'fresh-key' ? { ...req.headers, 'idempotency-key': randomUUID() } : req.headers
      })
    }
  ]
})
process.stdout.write(JSON.stringify(result))
