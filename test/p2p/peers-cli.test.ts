import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.ts'
import { tempDir } from './helpers.ts'

const PEER = '12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECJ2wxMeiiGtyXs7e'

describe('dmn peers', () => {
  const dir = tempDir('peers-cli')
  afterAll(() => dir.remove())

  it('denies and allows a peer in the peer book and lists it', () => {
    expect(runCli(['peers', 'deny', PEER, '--data-dir', dir.path]).status).toBe(0)
    const denied = runCli(['peers', 'list', '--json', '--data-dir', dir.path])
    expect(JSON.parse(denied.stdout)).toEqual([
      expect.objectContaining({ peer_id: PEER, status: 'denied', healthy: false })
    ])
    expect(runCli(['peers', 'allow', PEER, '--data-dir', dir.path]).status).toBe(0)
    // Allowed but never seen: listed, yet not among the healthy.
    const allowed = JSON.parse(runCli(['peers', 'list', '--json', '--data-dir', dir.path]).stdout)
    expect(allowed).toEqual([
      expect.objectContaining({ status: 'active', trust: 'allowlisted', healthy: false })
    ])
  })

  it('refuses something that is not a PeerId with a usage error', () => {
    const result = runCli(['peers', 'deny', 'nobody', '--data-dir', dir.path])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/^dmn: /)
  })
})
