/**
 * autocannon against one POST with a fresh Idempotency-Key on every request, printing autocannon's
 * JSON result as `autocannon -j` does (run.ts reads it). Its command line cannot vary a header per
 * request (its argument parser takes `[<id>]` for a sub-argument), its API can:
 *
 *   node bench/api/fresh-key-load.ts URL CONNECTIONS SECONDS API_KEY BODY
 */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'

interface Request {
  headers?: Record<string, string>
}
type Autocannon = (opts: Record<string, unknown>) => Promise<unknown>

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
const [url, connections, seconds, apiKey, body] = process.argv.slice(2)
if (!url || !connections || !seconds || !apiKey || body === undefined) {
  throw new Error('usage: fresh-key-load.ts URL CONNECTIONS SECONDS API_KEY BODY')
}
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
  body,
  requests: [
    {
      setupRequest: (req: Request) => ({
        ...req,
        headers: { ...req.headers, 'idempotency-key': randomUUID() }
      })
    }
  ]
})
process.stdout.write(JSON.stringify(result))
