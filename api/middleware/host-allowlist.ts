import { isIP } from 'node:net'

/**
 * Which `Host` values an API bound to one address answers. A browser tricked by DNS rebinding
 * sends the attacker's name in `Host` (and a matching `Origin`), so the name is the one thing that
 * tells such a request from the operator's own.
 */

/** A parsed request authority: lower-case host (IPv6 in brackets) and port. */
export interface Authority {
  readonly host: string
  readonly port: number
  /** 4 or 6 for an IP literal, 0 for a name. */
  readonly ip: 0 | 4 | 6
}

/** Where an API listens, and what else the operator allows. */
export interface HostBindingInit {
  /** The configured listen host: an IP literal, a wildcard (`0.0.0.0`, `::`) or a name (`localhost`). */
  readonly host: string
  /** The address actually bound (`server.address().address`). */
  readonly address: string
  /** The port actually bound (the real one when 0 was configured). */
  readonly port: number
  /** Further hosts, `name` (at the bound port) or `name:port`, that the operator configured. */
  readonly allowedHosts: readonly string[]
}

// RFC 9110 section 4.2.1: an http URI without a port means port 80, and browsers then omit it from Host.
const HTTP_DEFAULT_PORT = 80
// IP-literal in brackets, or a name of letters, digits, '.', '_' and '-' (what DNS and hosts files
// hold); then an optional port. Anything else (userinfo, paths, percent-encoding) is refused.
const AUTHORITY = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_](?:[a-z0-9._-]*[a-z0-9_])?))(?::(\d{1,5}))?$/
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const
const WILDCARDS = new Set(['0.0.0.0', '::'])

/** Parses `host[:port]` as sent in `Host` or configured; undefined when it is not one. */
export function parseAuthority(text: string): Authority | undefined {
  const match = AUTHORITY.exec(text.trim().toLowerCase())
  if (!match) return undefined
  const [, v6, name, portText] = match
  const port = portText === undefined ? HTTP_DEFAULT_PORT : Number(portText)
  if (port > 65_535) return undefined
  if (v6 !== undefined) {
    if (isIP(v6) !== 6) return undefined
    return { host: `[${canonicalV6(v6)}]`, port, ip: 6 }
  }
  const host = name as string
  return { host, port, ip: isIP(host) === 4 ? 4 : 0 }
}

/** `host:port` of an authority, the form the allowlist holds. */
export function authorityKey(authority: Pick<Authority, 'host' | 'port'>): string {
  return `${authority.host}:${authority.port}`
}

/**
 * A predicate over request authorities for an API bound as `init` says:
 * - the bound address with the bound port;
 * - on loopback (or bound to `localhost`): also `localhost`, `127.0.0.1` and `[::1]` with that port;
 * - bound to a name: that name with that port;
 * - bound to every interface (`0.0.0.0`, `::`): any IP literal and `localhost` with that port, since
 *   rebinding needs a name the attacker controls; other names only when configured;
 * - every configured host, at its own port or the bound one.
 * Throws a TypeError for a configured host that is not `name[:port]`.
 */
export function hostAllowlist(init: HostBindingInit): (authority: Authority) => boolean {
  const allowed = new Set<string>()
  const at = (host: string, port = init.port) => allowed.add(authorityKey({ host, port }))
  const wildcard = WILDCARDS.has(init.address) || WILDCARDS.has(init.host)
  const bound = isIP(init.address)
  if (bound !== 0 && !wildcard) at(bound === 6 ? `[${canonicalV6(init.address)}]` : init.address)
  if (isIP(init.host) === 0) at(init.host.toLowerCase())
  if (wildcard || isLoopback(init.address) || init.host.toLowerCase() === 'localhost') {
    for (const name of LOOPBACK_NAMES) at(name)
  }
  for (const entry of init.allowedHosts) {
    const parsed = parseAllowedHost(entry)
    at(parsed.host, hasPort(entry) ? parsed.port : init.port)
  }
  return (authority) =>
    allowed.has(authorityKey(authority)) || (wildcard && authority.ip !== 0 && authority.port === init.port)
}

/** A configured host; throws a TypeError when it is not `name[:port]` or an IP literal with one. */
export function parseAllowedHost(entry: string): Authority {
  const parsed = parseAuthority(entry)
  if (!parsed || parsed.port === 0)
    throw new TypeError(`allowed host ${entry} is not a host name or IP address with an optional port`)
  return parsed
}

// Only called on entries that parsed: a name holds no ':' and an IPv6 literal ends with ']'.
function hasPort(entry: string): boolean {
  return /:\d+$/.test(entry.trim())
}

function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  return (isIP(v4) === 4 && v4.startsWith('127.')) || (isIP(address) === 6 && canonicalV6(address) === '::1')
}

/** The WHATWG form browsers send (`[0:0::1]` becomes `[::1]`). */
function canonicalV6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1)
}
