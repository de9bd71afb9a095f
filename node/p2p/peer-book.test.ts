import { beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from '../store/database.ts'
import { migrate } from '../store/migrations.ts'
import { PeerRepository } from '../store/peers.ts'
import { createPeerBook, type PeerBook } from './peer-book.ts'

const A = '12D3KooWA1111111111111111111111111111111111111111111'
const B = '12D3KooWB2222222222222222222222222222222222222222222'

describe('peer book', () => {
  let db: Db
  let book: PeerBook
  beforeEach(() => {
    db = openDatabase(':memory:')
    migrate(db)
    book = createPeerBook({ peers: new PeerRepository(db) })
  })

  it('keeps addresses, certificate fields and trust per peer', () => {
    book.setAddresses(A, ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/1'])
    book.recordCertificate(A, {
      certificatePem: 'pem',
      signingKeyFpr: 's',
      encryptionKeyFpr: 'e',
      ethAddress: '0xAbCdEf0000000000000000000000000000000001',
      trust: 'pinned'
    })
    expect(book.get(A)).toMatchObject({
      addresses: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'],
      trust: 'pinned',
      signingKeyFpr: 's'
    })
    expect(book.getByEthAddress('0xabcdef0000000000000000000000000000000001')?.peerId).toBe(A)
    expect(book.getByEthAddress('0x0000000000000000000000000000000000000001')).toBeUndefined()
  })

  it('counts a peer healthy once it answers, and unhealthy when most contacts fail', () => {
    expect(book.ensure(A).healthy).toBe(false)
    book.recordContact(A, true, 10)
    book.recordContact(A, true, 20)
    expect(book.get(A)).toMatchObject({ healthy: true, successRate: 1, latencyMs: 13 })
    for (let i = 0; i < 5; i++) book.recordContact(A, false)
    expect(book.get(A)?.healthy).toBe(false)
  })

  it('lists healthy peers first and filters on health', () => {
    book.ensure(A)
    book.recordContact(B, true, 5)
    expect(book.list().map((p) => p.peerId)).toEqual([B, A])
    expect(book.list({ healthy: true }).map((p) => p.peerId)).toEqual([B])
    expect(book.list({ healthy: false }).map((p) => p.peerId)).toEqual([A])
  })

  it('keeps the success rate recent by halving old counts', () => {
    for (let i = 0; i < 100; i++) book.recordContact(A, false)
    for (let i = 0; i < 40; i++) book.recordContact(A, true, 1)
    expect(book.get(A)?.healthy).toBe(true)
  })

  it('denies and allows peers; allowing keeps the stronger ca trust', () => {
    book.setStatus(A, 'denied')
    expect(book.isDenied(A)).toBe(true)
    expect(book.get(A)?.healthy).toBe(false)
    book.allow(A)
    expect(book.get(A)).toMatchObject({ status: 'active', trust: 'allowlisted' })
    book.recordCertificate(B, { certificatePem: 'p', signingKeyFpr: 's', encryptionKeyFpr: 'e', trust: 'ca' })
    book.allow(B)
    expect(book.get(B)?.trust).toBe('ca')
  })
})
