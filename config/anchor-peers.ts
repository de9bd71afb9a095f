import { isIP } from 'node:net'

/**
 * DataMgmt Node (Python) names its bootstrap peers `host:port`, usually as URLs
 * (`INITIAL_PEERS=http://peer1.example.com:8000`, its `_parse_peer_address`). libp2p dials
 * multiaddrs only, so such an entry stops the start with the multiaddr to write instead.
 */

// An optional http(s) scheme, a host (a name, an IPv4 address or a bracketed IPv6 one), an optional
// port and an optional trailing slash, as the anchor's parser accepts them.
const ANCHOR_PEER =
  /^(https?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::([0-9]{1,5}))?\/?$/

/**
 * The multiaddr for `text` when it is a peer in the anchor's form (a URL, or `host:port`), else
 * undefined (a multiaddr, a bare name, or something that is no address at all, is left to the
 * schema). A URL without a port gets `defaultPort` (this node's default libp2p port).
 */
export function multiaddrForAnchorPeer(text: string, defaultPort: number): string | undefined {
  const m = ANCHOR_PEER.exec(text.trim())
  if (!m || (m[1] === undefined && m[3] === undefined)) return undefined
  const rawHost = m[2] as string
  const port = m[3] === undefined ? defaultPort : Number(m[3])
  if (port < 1 || port > 65_535) return undefined
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost
  const family = isIP(host)
  if (rawHost.startsWith('[') && family !== 6) return undefined
  if (family === 0 && /^[0-9.]+$/.test(host)) return undefined
  const protocol = family === 4 ? 'ip4' : family === 6 ? 'ip6' : 'dns4'
  return `/${protocol}/${host}/tcp/${port}`
}
