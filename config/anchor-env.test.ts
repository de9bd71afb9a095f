import { describe, expect, it } from 'vitest'
import { AnchorPeerAddressError, ConfigError } from '../node/core/errors.ts'
import { multiaddrForAnchorPeer } from './anchor-peers.ts'
import { loadConfig } from './index.ts'

/**
 * DataMgmt Node (Python)'s own variable names (its .env.example and getting-started/configuration.md:
 * `INTERNAL_API_PORT=8080`, `EXTERNAL_API_HOST=0.0.0.0`, `EXTERNAL_API_PORT=8081`,
 * `INITIAL_PEERS=http://peer1.example.com:8000,...`).
 */

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error')
}

describe("the anchor's API variables", () => {
  it('reads EXTERNAL_API_PORT, INTERNAL_API_PORT and EXTERNAL_API_HOST', () => {
    const config = loadConfig({
      env: { EXTERNAL_API_PORT: '9081', INTERNAL_API_PORT: '9080', EXTERNAL_API_HOST: '127.0.0.1' }
    })
    expect(config.api.external).toMatchObject({ host: '127.0.0.1', port: 9081 })
    expect(config.api.internal.port).toBe(9080)
  })

  it('lets the DMN_ name win when both are set', () => {
    const config = loadConfig({
      env: {
        EXTERNAL_API_PORT: '9081',
        DMN_API_EXTERNAL_PORT: '7081',
        INTERNAL_API_PORT: '9080',
        DMN_API_INTERNAL_PORT: '7080',
        EXTERNAL_API_HOST: '127.0.0.1',
        DMN_API_EXTERNAL_HOST: '::1'
      }
    })
    expect(config.api.external).toMatchObject({ host: '::1', port: 7081 })
    expect(config.api.internal.port).toBe(7080)
  })

  it('names the anchor variable when its value is not valid', () => {
    const err = thrown(() => loadConfig({ env: { EXTERNAL_API_PORT: 'eighty' } }))
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).problems).toEqual([
      expect.stringContaining('api.external.port (from EXTERNAL_API_PORT)')
    ])
  })

  it('opens the anchor read paths with DMN_API_EXTERNAL_OPEN_ANCHOR_READS', () => {
    expect(loadConfig({ env: {} }).api.external.openAnchorReads).toBe(false)
    expect(
      loadConfig({ env: { DMN_API_EXTERNAL_OPEN_ANCHOR_READS: 'true' } }).api.external.openAnchorReads
    ).toBe(true)
  })

  it('reads the per-address rate of each API', () => {
    const config = loadConfig({
      env: { DMN_API_EXTERNAL_RATE_ADDRESS_PER_SECOND: '40', DMN_API_EXTERNAL_RATE_ADDRESS_BURST: '80' }
    })
    expect(config.api.external.rateLimit).toEqual({
      perSecond: 10,
      burst: 20,
      addressPerSecond: 40,
      addressBurst: 80
    })
  })
})

describe('INITIAL_PEERS in the anchor host:port form', () => {
  it.each([
    ['10.0.0.5:4001', '/ip4/10.0.0.5/tcp/4001'],
    ['http://10.0.0.5:4001', '/ip4/10.0.0.5/tcp/4001'],
    ['https://peer1.example.com:8000/', '/dns4/peer1.example.com/tcp/8000'],
    ['http://bootstrap1.datamgmt.io', '/dns4/bootstrap1.datamgmt.io/tcp/4001'],
    ['[2001:db8::5]:4001', '/ip6/2001:db8::5/tcp/4001']
  ])('%s is shown as %s', (given, multiaddr) => {
    expect(multiaddrForAnchorPeer(given, 4001)).toBe(multiaddr)
  })

  it.each([
    '/ip4/10.0.0.5/tcp/4001',
    'not an address!',
    'peer1.example.com',
    '10.0.0.5:99999',
    '999.1.2:4001'
  ])('leaves %s to the schema', (text) => {
    expect(multiaddrForAnchorPeer(text, 4001)).toBeUndefined()
  })

  it('stops the start with an AnchorPeerAddressError that shows the multiaddr to write', () => {
    const err = thrown(() =>
      loadConfig({
        env: { INITIAL_PEERS: '/ip4/10.0.0.2/tcp/4001, http://10.0.0.5:4001, peer.example.org:4001' }
      })
    )
    expect(err).toBeInstanceOf(AnchorPeerAddressError)
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.name).toBe('AnchorPeerAddressError')
    const e = err as AnchorPeerAddressError
    expect(e.peers).toEqual([
      { given: 'http://10.0.0.5:4001', multiaddr: '/ip4/10.0.0.5/tcp/4001' },
      { given: 'peer.example.org:4001', multiaddr: '/dns4/peer.example.org/tcp/4001' }
    ])
    expect(e.problems).toHaveLength(2)
    expect(e.problems[0]).toContain('p2p.bootstrap.1 (from INITIAL_PEERS)')
    expect(e.problems[0]).toContain('write the multiaddr /ip4/10.0.0.5/tcp/4001')
    expect(e.message).toMatch(/^invalid configuration \(2 problems\): /)
  })

  it('lists other problems with it, and keeps the schema message for what is no address at all', () => {
    const err = thrown(() =>
      loadConfig({ env: { INITIAL_PEERS: '10.0.0.5:4001,not an address!', P2P_PORT: 'x' } })
    )
    expect(err).toBeInstanceOf(AnchorPeerAddressError)
    const problems = (err as AnchorPeerAddressError).problems
    expect(problems).toEqual([
      expect.stringContaining('p2p.port (from P2P_PORT)'),
      expect.stringContaining('p2p.bootstrap.1 (from INITIAL_PEERS): expected a multiaddr'),
      expect.stringContaining('write the multiaddr /ip4/10.0.0.5/tcp/4001')
    ])
  })

  it('is a plain ConfigError when no entry is in the anchor form', () => {
    const err = thrown(() => loadConfig({ env: { INITIAL_PEERS: 'not an address!' } }))
    expect(err).toBeInstanceOf(ConfigError)
    expect(err).not.toBeInstanceOf(AnchorPeerAddressError)
  })
})
