import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { PeerRepository } from './peers.ts'

const A = '12D3KooWA1111111111111111111111111111111111111111111'
const B = '12D3KooWB2222222222222222222222222222222222222222222'
const averaging = { latencyAlpha: 0.5, window: 4 }

let dir: string
let db: Db
let peers: PeerRepository
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-peers-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  peers = new PeerRepository(db)
})
afterEach(() => {
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('peer repository', () => {
  it('creates a peer once, unknown and active, and keeps what was set across a reopen', () => {
    expect(peers.get(A)).toBeUndefined()
    peers.ensure(A)
    peers.setAddresses(A, ['/ip4/127.0.0.1/tcp/1'])
    peers.ensure(A)
    expect(peers.get(A)).toMatchObject({ trust: 'unknown', status: 'active', successes: 0, failures: 0 })
    db.close()
    db = openDatabase(join(dir, 'node.db'))
    expect(new PeerRepository(db).get(A)?.addresses).toEqual(['/ip4/127.0.0.1/tcp/1'])
  })

  it('stores a certificate and finds the active peer by its Ethereum address in any case', () => {
    peers.ensure(A)
    peers.setCertificate(A, {
      certificatePem: 'pem',
      signingKeyFpr: 's',
      encryptionKeyFpr: 'e',
      ethAddress: '0xAbCdEf0000000000000000000000000000000001',
      trust: 'pinned'
    })
    expect(peers.get(A)).toMatchObject({ certificatePem: 'pem', signingKeyFpr: 's', trust: 'pinned' })
    expect(peers.get(A)?.lastSeenAt).not.toBeNull()
    expect(peers.getActiveByEthAddress('0xabcdef0000000000000000000000000000000001')?.peerId).toBe(A)
    peers.setStatus(A, 'denied')
    expect(peers.statusOf(A)).toBe('denied')
    expect(peers.getActiveByEthAddress('0xabcdef0000000000000000000000000000000001')).toBeUndefined()
  })

  it('allows a peer as allowlisted but keeps ca trust', () => {
    peers.ensure(A)
    peers.setStatus(A, 'denied')
    peers.allow(A)
    expect(peers.get(A)).toMatchObject({ status: 'active', trust: 'allowlisted' })
    peers.ensure(B)
    peers.setCertificate(B, { certificatePem: 'p', signingKeyFpr: 's', encryptionKeyFpr: 'e', trust: 'ca' })
    peers.allow(B)
    expect(peers.get(B)?.trust).toBe('ca')
    expect(peers.list().map((p) => p.peerId)).toEqual([A, B])
    expect(peers.statusOf('12D3KooWnobody')).toBeUndefined()
  })

  it('averages latency, leaves it alone on a failure, and halves counts past the window', () => {
    peers.ensure(A)
    peers.recordContact(A, true, 10, averaging)
    expect(peers.get(A)).toMatchObject({ successes: 1, failures: 0, latencyMs: 10 })
    peers.recordContact(A, true, 20, averaging)
    expect(peers.get(A)?.latencyMs).toBe(15)
    const seen = peers.get(A)?.lastSeenAt
    peers.recordContact(A, false, undefined, averaging)
    expect(peers.get(A)).toMatchObject({ successes: 2, failures: 1, latencyMs: 15, lastSeenAt: seen })
    peers.recordContact(A, false, undefined, averaging)
    peers.recordContact(A, false, undefined, averaging)
    // 2 + 3 = 5 > 4: both counts are halved (integer division).
    expect(peers.get(A)).toMatchObject({ successes: 1, failures: 1 })
  })

  it('counts a contact inside an enclosing transaction that rolls back as never made', () => {
    peers.ensure(A)
    expect(() =>
      db.transaction(() => {
        peers.recordContact(A, true, 5, averaging)
        throw new Error('rolled back')
      })()
    ).toThrow('rolled back')
    expect(peers.get(A)).toMatchObject({ successes: 0, latencyMs: null })
  })
})
