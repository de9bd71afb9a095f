import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { newWebhookSecret } from './admin.ts'
import { sendWebhook } from './send.ts'
import { checkWebhookUrl } from './url-guard.ts'

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
})

interface Seen {
  headers: IncomingMessage['headers']
  body: string
}

async function serve(
  answer: (req: IncomingMessage, res: ServerResponse) => void
): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString() })
      answer(req, res)
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as AddressInfo).port, seen }
}

const event = { id: 17, type: 'share.delivered', at: Date.UTC(2026, 0, 2), data: { share_id: 'ab', n: 1 } }
const own = { ports: () => [8080, 8081], localAddresses: () => ['192.0.2.10'] }

describe('one delivery attempt', () => {
  it('posts the event signed the Standard Webhooks way, which standardwebhooks verifies', async () => {
    const { port, seen } = await serve((_req, res) => res.writeHead(204).end())
    const secret = newWebhookSecret()
    const result = await sendWebhook({
      url: `http://127.0.0.1:${port}/in`,
      secret,
      event,
      timeoutMs: 5_000,
      own
    })
    expect(result).toEqual({ ok: true, status: 204 })
    const [got] = seen as [Seen]
    expect(got.headers['webhook-id']).toBe('evt_17')
    expect(got.headers['content-type']).toBe('application/json')
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(got.headers[h])])
    )
    expect(new Webhook(secret).verify(got.body, headers)).toEqual({
      type: 'share.delivered',
      timestamp: '2026-01-02T00:00:00.000Z',
      data: { share_id: 'ab', n: 1 }
    })
    expect(() => new Webhook(newWebhookSecret()).verify(got.body, headers)).toThrow()
  })

  it('counts a non-2xx answer and a redirect as failures, and follows no redirect', async () => {
    const target = await serve((_req, res) => res.writeHead(204).end())
    const redirect = await serve((_req, res) =>
      res.writeHead(307, { location: `http://127.0.0.1:${target.port}/` }).end()
    )
    const failing = await serve((_req, res) => res.writeHead(500).end('no'))
    const secret = newWebhookSecret()
    const base = { secret, event, timeoutMs: 5_000, own }
    expect(await sendWebhook({ ...base, url: `http://127.0.0.1:${redirect.port}/` })).toEqual({
      ok: false,
      error: 'HTTP 307',
      reason: 'http_status'
    })
    expect(target.seen).toHaveLength(0)
    expect(await sendWebhook({ ...base, url: `http://127.0.0.1:${failing.port}/` })).toEqual({
      ok: false,
      error: 'HTTP 500',
      reason: 'http_status'
    })
  })

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const { port, seen } = await serve(() => {})
    const result = await sendWebhook({
      url: `http://127.0.0.1:${port}/`,
      secret: newWebhookSecret(),
      event,
      timeoutMs: 300,
      own
    })
    expect(result).toEqual({ ok: false, error: 'no answer within 300 ms', reason: 'timeout' })
    expect(seen).toHaveLength(1)
  })

  it('gives up on a receiver that answers 200 but never ends its body', async () => {
    const { port } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('still going')
    })
    const result = await sendWebhook({
      url: `http://127.0.0.1:${port}/`,
      secret: newWebhookSecret(),
      event,
      timeoutMs: 300,
      own
    })
    expect(result).toEqual({ ok: false, error: 'no answer within 300 ms', reason: 'timeout' })
  })

  it('refuses, at delivery, a name that now resolves to the node itself at an API port', async () => {
    const { port, seen } = await serve((_req, res) => res.writeHead(204).end())
    const guard = { ports: () => [port], localAddresses: () => [] }
    // Created while the name pointed elsewhere; now it points at loopback (DNS rebinding).
    const rebound = async () => ['127.0.0.1']
    const result = await sendWebhook({
      url: `http://hooks.example:${port}/`,
      secret: newWebhookSecret(),
      event,
      timeoutMs: 5_000,
      own: guard,
      resolve: rebound
    })
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.error).toMatch(/own API/)
    expect(seen).toHaveLength(0)
    // The same name at another port of that address is another program's, and reached.
    const other = await serve((_req, res) => res.writeHead(200).end())
    expect(
      await sendWebhook({
        url: `http://hooks.example:${other.port}/`,
        secret: newWebhookSecret(),
        event,
        timeoutMs: 5_000,
        own: guard,
        resolve: rebound
      })
    ).toEqual({ ok: true, status: 200 })
  })
})

describe('a subscription URL', () => {
  const check = (url: string, resolve = async () => ['198.51.100.7']) => checkWebhookUrl(url, own, resolve)

  it("is refused unless http(s), without credentials, off the node's own APIs", async () => {
    for (const url of [
      'ftp://hooks.example/',
      'file:///etc/passwd',
      'not a url',
      'http://user:pw@hooks.example/',
      'http://127.0.0.1:8080/',
      'http://[::1]:8081/',
      'http://192.0.2.10:8081/',
      `http://hooks.example/${'a'.repeat(2_100)}`
    ]) {
      await expect(check(url), url).rejects.toMatchObject({ name: 'WebhookUrlRefusedError' })
    }
    // Any address of the name counts.
    await expect(
      check('http://both.example:8080/', async () => ['198.51.100.7', '127.0.0.1'])
    ).rejects.toMatchObject({
      name: 'WebhookUrlRefusedError'
    })
    await expect(
      check('http://nowhere.example/', async () => {
        throw new Error('ENOTFOUND')
      })
    ).rejects.toMatchObject({ name: 'WebhookUrlRefusedError' })
  })

  it('is taken at another port of loopback and at the API ports of other machines', async () => {
    expect((await check('http://127.0.0.1:9000/hooks')).href).toBe('http://127.0.0.1:9000/hooks')
    expect((await check('https://hooks.example:8080/x')).port).toBe('8080')
  })
})
