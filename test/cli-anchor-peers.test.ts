import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from './helpers/cli.ts'

// DataMgmt Node (Python)'s .env.example: `INITIAL_PEERS=http://peer1.example.com,http://peer2.example.com`;
// its p2p_network.py `_parse_peer_address` reads `host:port`. libp2p dials multiaddrs only.
describe('dmn start with INITIAL_PEERS in the anchor host:port form', () => {
  it('exits 2 with one dmn: line that shows the multiaddr to write, and writes nothing', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dmn-cli-')), 'data')
    const result = runCli(['start', '--data-dir', dataDir], {
      KEY_MASTER_PASSWORD: 'correct horse',
      INITIAL_PEERS: 'http://10.0.0.5:4001,peer2.example.com:4001'
    })
    expect(result.status).toBe(2)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^dmn: invalid configuration \(2 problems\): p2p\.bootstrap\.0 \(from INITIAL_PEERS\)/
    )
    expect(lines[0]).toContain('write the multiaddr /ip4/10.0.0.5/tcp/4001')
    expect(lines[0]).toContain('write the multiaddr /dns4/peer2.example.com/tcp/4001')
    expect(existsSync(dataDir)).toBe(false)
  })
})
