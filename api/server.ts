import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Config } from '../config/index.ts'
import type { Startable } from '../node/core/lifecycle.ts'
import type { Logger } from '../node/log/logger.ts'
import type { InternalApiPorts } from './deps.ts'
import { ApiListenError } from './errors.ts'
import { createExternalApp } from './external-app.ts'
import { createInternalApp } from './internal-app.ts'
import { answerParserErrors } from './parser-errors.ts'

/**
 * Both APIs on @hono/node-server, as one lifecycle component (started last, stopped first). Stop
 * refuses new connections, ends live event streams, lets in-flight requests finish within
 * `drainMs`, then closes what is left.
 */

export interface ApiServerInit {
  readonly config: Config['api']
  readonly drainMs?: number
}

export interface Listening {
  readonly host: string
  readonly port: number
  /** `http://host:port`, with a loopback host when bound to every interface. */
  readonly url: string
}

// Slow clients (slowloris) must not hold sockets: headers within 10 s, the whole request within 30 s.
const HEADERS_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 30_000

export class ApiServer implements Startable {
  readonly name = 'api'
  readonly #ports: InternalApiPorts
  readonly #init: ApiServerInit
  readonly #logger: Logger
  #shutdown = new AbortController()
  #servers: { internal: Server; external: Server } | undefined
  #listening: { internal: Listening; external: Listening } | undefined

  constructor(ports: InternalApiPorts, init: ApiServerInit) {
    this.#ports = ports
    this.#init = init
    this.#logger = ports.logger
  }

  /** Where each API listens; only valid after start. */
  get listening(): { internal: Listening; external: Listening } {
    if (!this.#listening) throw new Error('api server is not started')
    return this.#listening
  }

  async start(): Promise<void> {
    const cfg = this.#init.config
    this.#shutdown = new AbortController()
    const common = {
      trustedProxies: cfg.trustedProxies,
      bodyLimitBytes: cfg.bodyLimitBytes,
      maxClients: cfg.rateLimitMaxClients,
      idempotencyRetentionMs: cfg.idempotencyRetentionHours * 3_600_000
    }
    const external = createExternalApp(this.#ports, {
      ...common,
      rateLimit: cfg.external.rateLimit,
      openAnchorReads: cfg.external.openAnchorReads
    })
    // Known once listening (the real port when 0 is configured); kept, since address() is null after close.
    let internalBound: AddressInfo | undefined
    const internal = createInternalApp(this.#ports, {
      ...common,
      rateLimit: cfg.internal.rateLimit,
      requireAdminKey: !isLoopback(cfg.internal.host),
      shutdown: this.#shutdown.signal,
      binding: {
        host: cfg.internal.host,
        allowedHosts: cfg.internal.allowedHosts,
        bound: () => {
          // No request reaches the app before listen has resolved.
          if (!internalBound) throw new Error('the internal API is not listening')
          return internalBound
        }
      }
    })
    const servers = {
      internal: createAdaptorServer({ fetch: internal.fetch, hostname: cfg.internal.host }) as Server,
      external: createAdaptorServer({ fetch: external.fetch, hostname: cfg.external.host }) as Server
    }
    for (const server of Object.values(servers)) {
      server.headersTimeout = HEADERS_TIMEOUT_MS
      server.requestTimeout = REQUEST_TIMEOUT_MS
      answerParserErrors(server, this.#logger)
    }
    try {
      const internalAt = await listen(servers.internal, cfg.internal.host, cfg.internal.port)
      internalBound = servers.internal.address() as AddressInfo
      const externalAt = await listen(servers.external, cfg.external.host, cfg.external.port).catch(
        async (err: unknown) => {
          await close(servers.internal, 0)
          throw err
        }
      )
      this.#servers = servers
      this.#listening = { internal: internalAt, external: externalAt }
    } catch (err) {
      throw new ApiListenError(`an API cannot listen: ${(err as Error).message}`, { cause: err })
    }
    this.#logger.info(
      { internal: this.#listening.internal.url, external: this.#listening.external.url },
      'APIs listening'
    )
  }

  async stop(): Promise<void> {
    const servers = this.#servers
    if (!servers) return
    this.#servers = undefined
    this.#shutdown.abort()
    const drainMs = this.#init.drainMs ?? 5_000
    await Promise.all([close(servers.external, drainMs), close(servers.internal, drainMs)])
    this.#logger.info('APIs closed')
  }
}

function listen(server: Server, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      const address = server.address() as AddressInfo
      const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
      resolve({
        host,
        port: address.port,
        url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}`
      })
    })
  })
}

function close(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
    const timer = setTimeout(() => server.closeAllConnections(), drainMs)
    timer.unref()
    server.once('close', () => clearTimeout(timer))
  })
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}
