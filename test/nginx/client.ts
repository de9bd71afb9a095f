import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect, type SecureVersion } from 'node:tls'

/**
 * Clients for the nginx tests: HTTPS with the test CA and SNI of the server name, from a chosen
 * loopback source address (the whole 127.0.0.0/8 is local on Linux), so that each test is its own
 * client address for nginx's and the node's per-address limits.
 */

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface RequestOptions {
  readonly method?: string
  readonly path: string
  readonly headers?: Record<string, string | number>
  readonly body?: string | Buffer
  /** The client's address as nginx sees it. */
  readonly from?: string
  readonly timeoutMs?: number
}

export interface Target {
  readonly port: number
  /** TLS: the CA to verify the server with and the name to ask for; plain HTTP without. */
  readonly tls?: { readonly ca: string; readonly servername: string }
}

export function send(target: Target, opts: RequestOptions): Promise<Reply> {
  const make = target.tls ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = make({
      host: '127.0.0.1',
      port: target.port,
      method: opts.method ?? 'GET',
      path: opts.path,
      headers: { ...(target.tls ? { host: target.tls.servername } : {}), ...opts.headers },
      ...(opts.from ? { localAddress: opts.from } : {}),
      ...(target.tls ? { ca: target.tls.ca, servername: target.tls.servername } : {}),
      // A fresh connection per request: no reuse across source addresses.
      agent: false,
      timeout: opts.timeoutMs ?? 10_000
    })
    req.once('timeout', () => req.destroy(new Error(`no answer to ${opts.path} in time`)))
    req.once('error', reject)
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('error', reject)
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() })
      )
    })
    req.end(opts.body)
  })
}

export type Handshake =
  | { readonly ok: true; readonly protocol: string | null; readonly cipher: string }
  | { readonly ok: false; readonly code: string }

/** One TLS handshake, limited to the given versions (and ciphers), and how it ended. */
export function handshake(
  port: number,
  opts: {
    readonly ca: string
    readonly servername: string
    readonly minVersion: SecureVersion
    readonly maxVersion: SecureVersion
    readonly ciphers?: string
  }
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: opts.ca,
      servername: opts.servername,
      minVersion: opts.minVersion,
      maxVersion: opts.maxVersion,
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
      timeout: 5_000
    })
    socket.once('secureConnect', () => {
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name })
      socket.destroy()
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      resolve({ ok: false, code: err.code ?? err.message })
      socket.destroy()
    })
    socket.once('timeout', () => {
      resolve({ ok: false, code: 'timeout' })
      socket.destroy()
    })
  })
}

export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body) as Record<string, unknown>
}
