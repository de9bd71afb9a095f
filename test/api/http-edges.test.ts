import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ApiServer } from '../../api/server.ts'
import { MAX_API_KEY_NAME_LENGTH } from '../../node/core/ports.ts'
import { createHarness, type Harness } from '../../api/test-support/fakes.ts'
import { configSchema } from '../../config/index.ts'
import { createLogger } from '../../node/log/logger.ts'

/**
 * HTTP edges on real sockets against a running API server: clients that vanish mid-request, requests
 * Node's own parser refuses, JSON numbers a double cannot hold, and API-key names the store would
 * alter. The server logs into a capturing logger at debug level.
 */

const ETH = '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01'
const lines: Record<string, unknown>[] = []
let h: Harness
let server: ApiServer
let key: string
let ports: { internal: number; external: number }

beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  h = createHarness({ logger: createLogger({ level: 'debug', destination }) })
  const api = configSchema.parse({
    api: {
      internal: { host: '127.0.0.1', port: 0, rateLimit: { perSecond: 1000, burst: 1000 } },
      external: { host: '127.0.0.1', port: 0, rateLimit: { perSecond: 1000, burst: 1000 } }
    }
  }).api
  server = new ApiServer(h.ports, { config: api, drainMs: 500 })
  await server.start()
  ports = { internal: server.listening.internal.port, external: server.listening.external.port }
  key = h.ports.apiKeys.create({ name: 'edges', scopes: ['share', 'read'] }).key
})
afterAll(async () => {
  await server.stop()
  h.close()
})

interface RawAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** Writes `request` on a fresh TCP connection and reads until the server closes it. */
function exchange(port: number, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of headerLines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) })
    })
  })
}

/**
 * Sends headers with `Expect: 100-continue`, waits for `100 Continue` (so the request has reached
 * the app), sends `partial` of the body, then destroys the connection.
 */
function abortMidBody(port: number, path: string, framing: string, partial: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
          `X-API-Key: ${key}\r\nExpect: 100-continue\r\n${framing}\r\n`
      )
    })
    socket.once('data', (chunk) => {
      expect(String(chunk)).toMatch(/^HTTP\/1\.1 100 Continue/)
      socket.write(partial)
      socket.destroy()
    })
    socket.on('close', () => resolve())
    socket.on('error', reject)
  })
}

/** Opens a GET, waits for the first bytes of the answer, then destroys the connection. */
function abortWhileStreaming(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-API-Key: ${key}\r\n\r\n`)
    })
    socket.once('data', () => socket.destroy())
    socket.on('close', () => resolve())
    socket.on('error', reject)
  })
}

async function postJson(port: number, path: string, body: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

const appDisconnects = () => lines.filter((l) => l['reason'] === 'client_closed' && 'route' in l)
const errorLines = () => lines.filter((l) => l['level'] === 'error' || l['level'] === 'fatal')

describe('clients that disconnect mid-request', () => {
  it('log a debug line with a stable reason and never an error, for every kind of abort', async () => {
    const rounds = 5
    const before = appDisconnects().length
    const stats = h.ports.network.stats
    // The node's adapters end work on the request's signal and throw its reason.
    let entered: () => void = () => {}
    h.ports.network.stats = (options) =>
      new Promise((_resolve, reject) => {
        const signal = options?.signal
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
        entered()
      })
    try {
      for (let i = 0; i < rounds; i++) {
        const half = `{"data":"${'x'.repeat(500)}`
        await abortMidBody(ports.external, '/share_data', 'Content-Length: 2000\r\n', half)
        await abortMidBody(
          ports.external,
          '/v1/shares',
          'Transfer-Encoding: chunked\r\n',
          `${half.length.toString(16)}\r\n${half}\r\n`
        )
        await abortMidBody(ports.internal, '/api-keys', 'Content-Length: 2000\r\n', '{"name":"half')
        await new Promise<void>((resolve, reject) => {
          entered = () => socket.destroy()
          const socket = connect(ports.external, '127.0.0.1', () => {
            socket.write(`GET /network/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${key}\r\n\r\n`)
          })
          socket.on('close', () => resolve())
          socket.on('error', reject)
        })
        await abortWhileStreaming(ports.internal, '/events')
      }
      // The three body reads fail into the app's error handler. The signal's reason is a string,
      // which the adaptor itself answers; the event stream just ends.
      await vi.waitFor(() => expect(appDisconnects().length - before).toBe(3 * rounds), { timeout: 10_000 })
    } finally {
      h.ports.network.stats = stats
    }
    expect(errorLines()).toEqual([])
    for (const line of appDisconnects()) {
      expect(line['level']).toBe('debug')
      expect(line).not.toHaveProperty('err')
    }
    const res = await fetch(`http://127.0.0.1:${ports.external}/health`)
    expect(res.status).toBe(200)
  })
})

describe("requests refused by Node's HTTP parser", () => {
  const cases: [string, string, number, string][] = [
    ['a malformed request line', 'GARBAGE / HTTP/9.9\r\n\r\n', 400, 'bad_request'],
    [
      'a header without a colon',
      'GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      400,
      'bad_request'
    ],
    [
      'headers over the size limit',
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
      431,
      'headers_too_large'
    ],
    [
      'an Expect header other than 100-continue',
      'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: something-else\r\n\r\n',
      417,
      'expectation_failed'
    ]
  ]
  for (const api of ['internal', 'external'] as const) {
    for (const [what, request, status, code] of cases) {
      it(`answers ${what} on the ${api} API with ${status} and a JSON error, then closes`, async () => {
        const answer = await exchange(ports[api], request)
        expect(answer.status).toBe(status)
        expect(answer.headers['content-type']).toBe('application/json')
        expect(answer.headers['connection']).toBe('close')
        expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body))
        const body = JSON.parse(answer.body) as Record<string, unknown>
        expect(body).toMatchObject({ code, error: expect.any(String) })
      })
    }
  }

  for (const [api, path] of [
    ['internal', '/api-keys'],
    ['external', '/share_data']
  ] as const) {
    it(`answers chunk extensions over the limit on the ${api} API with 413 and a JSON error`, async () => {
      const answer = await exchange(
        ports[api],
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-API-Key: ${key}\r\n` +
          `Transfer-Encoding: chunked\r\n\r\n1;ext=${'a'.repeat(20 * 1024)}\r\n{\r\n0\r\n\r\n`
      )
      expect(answer.status).toBe(413)
      expect(answer.headers['connection']).toBe('close')
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'chunk_extensions_too_large' })
    })
  }

  it('keeps the default for Expect: 100-continue: 100 Continue, then the answer', async () => {
    const body = JSON.stringify({ data: 'expected', recipient: ETH })
    const answer = await new Promise<string>((resolve, reject) => {
      let text = ''
      const socket = connect(ports.external, '127.0.0.1', () => {
        socket.write(
          `POST /share_data HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-API-Key: ${key}\r\n` +
            `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`
        )
      })
      socket.on('data', (chunk) => {
        if (text === '') socket.write(body)
        text += String(chunk)
      })
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    })
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /)
  })
})

describe('payment_amount as a JSON number a double cannot hold', () => {
  const share = (amount: string) =>
    `{"data":"x","recipient":"${ETH}","payment_token":"${ETH}","payment_amount":${amount}}`

  it('is refused with 422 on payment_amount on /v1/shares, and read exactly on the anchor path', async () => {
    // 10^30 - 1 arrives as 1e30; 5 * 10^29 + 1 as 5e29, which the range check alone would accept.
    for (const amount of ['999999999999999999999999999999', '500000000000000000000000000001', '1e30']) {
      const r = await postJson(ports.external, '/v1/shares', share(amount))
      expect(r.status, `/v1/shares ${amount}`).toBe(422)
      expect(r.json).toMatchObject({ code: 'validation_failed', field: 'payment_amount' })
    }
    // /share_data reads an integer literal exactly, as the anchor's Python json does, so these are
    // valid amounts (then 501); `1e30` is a float there too, int(1e30) > 10**30, refused.
    for (const amount of ['999999999999999999999999999999', '500000000000000000000000000001']) {
      const r = await postJson(ports.external, '/share_data', share(amount))
      expect(r.status, `/share_data ${amount}`).toBe(501)
    }
    const float = await postJson(ports.external, '/share_data', share('1e30'))
    expect(float.status).toBe(422)
    expect(float.json).toMatchObject({ code: 'validation_failed', field: 'payment_amount' })
    expect(h.recorded.shareCalls.some((c) => c.bytes === 1 && c.recipient === ETH)).toBe(false)
  })

  it('still accepts a safe integer number and a string of digits beyond 2^53', async () => {
    for (const amount of ['9007199254740991', '1000000000000000000', '"999999999999999999999999999999"']) {
      const r = await postJson(ports.external, '/share_data', share(amount))
      // Valid payment fields are answered 501, never ignored.
      expect(r.status, amount).toBe(501)
      expect(r.json['code']).toBe('payments_not_implemented')
    }
  })
})

describe('API-key names the store would alter or cannot hold', () => {
  const create = (nameJson: string) =>
    postJson(ports.internal, '/api-keys', `{"name":${nameJson},"scopes":["read"]}`)
  const storedNames = () => h.ports.apiKeys.list().map((k) => k.name)

  it('refuses a lone surrogate with 422 on name, and stores nothing', async () => {
    const before = storedNames()
    for (const nameJson of ['"\\ud800"', '"ops \\udfff key"', '"\\ud83d\\ud83d"']) {
      const r = await create(nameJson)
      expect(r.status, nameJson).toBe(422)
      expect(r.json).toMatchObject({ code: 'validation_failed', field: 'name' })
    }
    expect(storedNames()).toEqual(before)
  })

  it('refuses a 100,000-character name with 422 on name, stating the limit', async () => {
    const r = await create(JSON.stringify('n'.repeat(100_000)))
    expect(r.status).toBe(422)
    expect(r.json).toMatchObject({ code: 'validation_failed', field: 'name' })
    expect(String(r.json['error'])).toContain(String(MAX_API_KEY_NAME_LENGTH))
  })

  it('stores a well-formed name with astral characters exactly as sent', async () => {
    const name = 'ops 👩‍👩‍👧 key'
    const r = await create(JSON.stringify(name))
    expect(r.status).toBe(201)
    expect(r.json['name']).toBe(name)
    expect(storedNames()).toContain(name)
  })
})
