import { isIP } from 'node:net'
import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from '../context.ts'

export interface ClientAddressInit {
  /** Addresses whose `X-Forwarded-For` is believed; none by default. */
  readonly trustedProxies: readonly string[]
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same client. */
export function normalizeAddress(address: string): string {
  const lower = address.trim().toLowerCase()
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower
}

/**
 * Resolves the client's address: the socket peer, unless that peer is a configured proxy, in which
 * case `X-Forwarded-For` is read from the right, skipping further trusted proxies, and the first
 * address not trusted is the client. A forged header from anyone else is ignored, so it cannot buy
 * a fresh rate-limit bucket.
 */
export function clientAddress(init: ClientAddressInit): MiddlewareHandler<ApiEnv> {
  const trusted = new Set(init.trustedProxies.map(normalizeAddress))
  for (const address of trusted) {
    if (isIP(address) === 0) throw new TypeError(`trusted proxy ${address} is not an IP address`)
  }
  return async function clientAddressMiddleware(c, next) {
    const socketAddress = c.env?.incoming?.socket?.remoteAddress
    let address = socketAddress ? normalizeAddress(socketAddress) : 'unknown'
    if (trusted.has(address)) {
      const hops = (c.req.header('x-forwarded-for') ?? '')
        .split(',')
        .map(normalizeAddress)
        .filter((hop) => isIP(hop) !== 0)
      while (hops.length > 0) {
        const hop = hops.pop() as string
        address = hop
        if (!trusted.has(hop)) break
      }
    }
    c.set('clientAddress', address)
    await next()
  }
}
