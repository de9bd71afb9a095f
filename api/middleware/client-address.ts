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
 * The client's address from the socket peer and, read only when that peer is a trusted proxy, the
 * request's `X-Forwarded-For`.
 */
export type AddressResolver = (
  socketAddress: string | undefined,
  forwardedFor: () => string | undefined
) => string

/**
 * Resolves the client's address: the socket peer, unless that peer is a configured proxy, in which
 * case `X-Forwarded-For` is read from the right, skipping further trusted proxies, and the first
 * address not trusted is the client. A forged header from anyone else is ignored, so it cannot buy
 * a fresh rate-limit bucket.
 */
export function addressResolver(trustedProxies: readonly string[]): AddressResolver {
  const trusted = new Set(trustedProxies.map(normalizeAddress))
  for (const address of trusted) {
    if (isIP(address) === 0) throw new TypeError(`trusted proxy ${address} is not an IP address`)
  }
  return (socketAddress, forwardedFor) => {
    let address = socketAddress ? normalizeAddress(socketAddress) : 'unknown'
    if (trusted.has(address)) {
      const hops = (forwardedFor() ?? '')
        .split(',')
        .map(normalizeAddress)
        .filter((hop) => isIP(hop) !== 0)
      while (hops.length > 0) {
        const hop = hops.pop() as string
        address = hop
        if (!trusted.has(hop)) break
      }
    }
    return address
  }
}

/** Sets `clientAddress` (see `addressResolver`). */
export function clientAddress(init: ClientAddressInit): MiddlewareHandler<ApiEnv> {
  const resolve = addressResolver(init.trustedProxies)
  return async function clientAddressMiddleware(c, next) {
    c.set(
      'clientAddress',
      resolve(c.env?.incoming?.socket?.remoteAddress, () => c.req.header('x-forwarded-for'))
    )
    await next()
  }
}
