import { isIP } from 'node:net'

/**
 * DataMgmt Node (Python) names its bootstrap peers `host:port`, usually as URLs
 * (`INITIAL_PEERS=http://peer1.example.com:8000`, its `_parse_peer_address`). libp2p dials
 * multiaddrs only, so such an entry stops the start with the multiaddr to write instead.
 */

// An optional http(s) scheme, a host (a name, an IPv4 address or a bracketed IPv6 one), an optional
// port and an optional trailing slash, as the anchor's parser accepts them.
const ANCHOR_PEER =
  /^(?:https?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::([0-9]{1,5}))?\/?$/

/**
 * The multiaddr for `text` when it is a peer in the anchor's form, else undefined (a multiaddr, or
 * something that is no address at all, is left to the schema). Without a port, `defaultPort` (this
 * node's default libp2p port) is suggested.
 */
export function multiaddrForAnchorPeer(text: string, defaultPort: number): string | undefined {
  const m = ANCHOR_PEER.exec(text.trim())
  if (!m) return undefined
  const rawHost = m[1] as string
  const port = m[2] === undefined ? defaultPort : Number(m[2])
  if (port < 1 || port > 65_535) return undefined
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost
  const family = isIP(host)
  if (rawHost.startsWith('[') && family !== 6) return undefined
  if (family === 0 && /^[0-9.]+$/.test(host)) return undefined
  const protocol = family === 4 ? 'ip4' : family === 6 ? 'ip6' : 'dns4'
  return `/${protocol}/${host}/tcp/${port}`
}
