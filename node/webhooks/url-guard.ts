import { type LookupAddress, lookup as dnsLookup } from 'node:dns'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { MAX_WEBHOOK_URL_LENGTH, reachesOwnApi, WebhookUrlRefusedError } from '../core/webhooks.ts'

/**
 * Keeps webhooks off the node's own APIs. A URL is refused when its scheme is not http(s) or when
 * its host resolves (every address, as the resolver answers now) to a loopback, unspecified or
 * local-interface address while its port is one of the node's API ports. Other ports on loopback
 * are allowed: a receiver beside the node (and the tests' receivers) listens there.
 *
 * The check runs at creation and again at every delivery, inside the HTTP client's own DNS lookup
 * (`guardedLookup`), so a name that is re-pointed at the node after creation (DNS rebinding) is
 * refused at the connection it would have made.
 */

export interface OwnApis {
  /** The internal and external API ports (the bound ones once listening). */
  readonly ports: () => readonly number[]
  /** This machine's interface addresses. */
  readonly localAddresses?: () => readonly string[]
}

export type Resolver = (hostname: string) => Promise<readonly string[]>

/** Every address of `hostname` from the system resolver (as the HTTP client would connect to). */
export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses: LookupAddress[]) => {
      if (err) reject(err)
      else resolve(addresses.map((a) => a.address))
    })
  })

export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
}

/** The URL parsed, or WebhookUrlRefusedError for one that is not an absolute http(s) URL. */
export function parseWebhookUrl(text: string): URL {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new WebhookUrlRefusedError(`url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`)
  }
  let url: URL
  try {
    url = new URL(text)
  } catch (err) {
    throw new WebhookUrlRefusedError('url is not an absolute URL', { cause: err })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookUrlRefusedError(
      `url scheme must be http or https, not ${url.protocol.replace(/:$/, '')}`
    )
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in a URL end up in logs and listings; the signature is the receiver's proof.
    throw new WebhookUrlRefusedError('url must not carry a user name or password')
  }
  return url
}

export function urlPort(url: URL): number {
  if (url.port !== '') return Number(url.port)
  return url.protocol === 'https:' ? 443 : 80
}

/** The host of a URL as a resolver takes it (IPv6 literals without brackets). */
export function urlHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1')
}

/** Refuses `addresses` at `port` when they reach the node's own APIs. */
export function refuseOwnApi(
  hostname: string,
  addresses: readonly string[],
  port: number,
  own: OwnApis
): void {
  if (addresses.length === 0) throw new WebhookUrlRefusedError(`${hostname} resolves to no address`)
  const localAddresses = (own.localAddresses ?? interfaceAddresses)()
  if (reachesOwnApi(addresses, port, { ports: own.ports(), localAddresses })) {
    throw new WebhookUrlRefusedError(`url points at this node's own API (${hostname}:${port})`)
  }
}

/** Parses and checks a subscription URL now (creation); throws WebhookUrlRefusedError. */
export async function checkWebhookUrl(
  text: string,
  own: OwnApis,
  resolve: Resolver = systemResolver
): Promise<URL> {
  const url = parseWebhookUrl(text)
  const hostname = urlHostname(url)
  let addresses: readonly string[]
  try {
    addresses = isIP(hostname) ? [hostname] : await resolve(hostname)
  } catch (err) {
    throw new WebhookUrlRefusedError(`cannot resolve ${hostname}: ${(err as Error).message}`, { cause: err })
  }
  refuseOwnApi(hostname, addresses, urlPort(url), own)
  return url
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number
) => void

/**
 * A `lookup` for node:http(s) requests to `port` that resolves, refuses the node's own APIs, and
 * hands the client only the addresses it checked.
 */
export function guardedLookup(port: number, own: OwnApis, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    const addresses = isIP(hostname) ? Promise.resolve([hostname]) : resolve(hostname)
    addresses.then(
      (list) => {
        try {
          refuseOwnApi(hostname, list, port, own)
        } catch (err) {
          callback(err as NodeJS.ErrnoException, '')
          return
        }
        const all = list.map((address) => ({ address, family: isIP(address) }))
        if (options.all) callback(null, all)
        else callback(null, all[0]?.address ?? '', all[0]?.family ?? 4)
      },
      (err: NodeJS.ErrnoException) => callback(err, '')
    )
  }
}
