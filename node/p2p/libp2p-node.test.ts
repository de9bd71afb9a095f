import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { dhtAddressMapper } from './libp2p-node.ts'

describe('the DHT address mapper', () => {
  const addresses = [
    '/ip4/127.0.0.1/tcp/4001',
    '/ip6/::1/tcp/4001',
    '/ip4/10.1.2.3/tcp/4001',
    '/ip4/192.168.1.20/tcp/4001',
    '/ip4/203.0.113.7/tcp/4001',
    '/dns4/node.example.org/tcp/4001'
  ]

  it('drops loopback addresses on a node listening elsewhere, and keeps LAN and public ones', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const peer = { id, multiaddrs: addresses.map((a) => multiaddr(a)) }
    for (const host of ['0.0.0.0', '10.1.2.3', '::']) {
      expect(dhtAddressMapper(host)(peer).multiaddrs.map((a) => a.toString())).toEqual(addresses.slice(2))
      expect(dhtAddressMapper(host)(peer).id).toBe(id)
    }
  })

  it('keeps every address on a node that listens on loopback itself', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const peer = { id, multiaddrs: addresses.map((a) => multiaddr(a)) }
    for (const host of ['127.0.0.1', '::1', 'localhost']) {
      expect(dhtAddressMapper(host)(peer).multiaddrs.map((a) => a.toString())).toEqual(addresses)
    }
  })
})
