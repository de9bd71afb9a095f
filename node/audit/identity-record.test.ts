import { generateKeyPairSync } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Wallet } from 'ethers'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createIdentityRecord,
  type IdentityRecordProblem,
  InvalidIdentityRecordError,
  identityBodyOf,
  sameBinding,
  verifyIdentityRecord
} from './identity-record.ts'

const rsaPublicPem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
    type: 'spki',
    format: 'pem'
  }) as string

async function refusal(record: string): Promise<IdentityRecordProblem> {
  const err = await verifyIdentityRecord(record).then(
    () => undefined,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(InvalidIdentityRecordError)
  return (err as InvalidIdentityRecordError).problem
}

describe('node identity record', () => {
  let record: string
  let wallet: Wallet
  let peerId: string
  const signingPublicKeyPem = rsaPublicPem()
  const encryptionPublicKeyPem = rsaPublicPem()

  beforeAll(async () => {
    const peerKey = await generateKeyPair('Ed25519')
    peerId = peerIdFromPrivateKey(peerKey).toString()
    wallet = Wallet.createRandom() as unknown as Wallet
    record = await createIdentityRecord({
      peerKey,
      account: wallet,
      signingPublicKeyPem,
      encryptionPublicKeyPem,
      issuedAt: 1_700_000_000_000
    })
  })

  it('verifies the record it made, binding PeerId, both keys and the account', async () => {
    const v = await verifyIdentityRecord(record)
    expect(v.body).toMatchObject({
      peerId,
      account: wallet.address.toLowerCase(),
      issuedAt: 1_700_000_000_000
    })
    expect(v.signingKeyPem).toBe(signingPublicKeyPem)
    expect(v.encryptionKeyPem).toBe(encryptionPublicKeyPem)
    expect(v.recordHash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('works with an RSA libp2p identity as well (the PeerId is a hash of the key)', async () => {
    const peerKey = await generateKeyPair('RSA', 2048)
    const rsaRecord = await createIdentityRecord({
      peerKey,
      account: wallet,
      signingPublicKeyPem,
      encryptionPublicKeyPem,
      issuedAt: 1
    })
    expect((await verifyIdentityRecord(rsaRecord)).body.peerId).toBe(peerIdFromPrivateKey(peerKey).toString())
  })

  it('refuses a record signed for another PeerId, account or key', async () => {
    const body = identityBodyOf(record)
    const otherPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    expect(await refusal(record.replace(body.peerId, otherPeer))).toBe('peer_key_mismatch')
    const otherAccount = Wallet.createRandom().address.toLowerCase()
    expect(await refusal(record.replace(body.account, otherAccount))).toBe('bad_peer_signature')
    const otherKey = identityBodyOf(
      await createIdentityRecord({
        peerKey: await generateKeyPair('Ed25519'),
        account: wallet,
        signingPublicKeyPem: rsaPublicPem(),
        encryptionPublicKeyPem,
        issuedAt: 1
      })
    ).signingKey
    expect(await refusal(record.replace(body.signingKey, otherKey))).toBe('bad_peer_signature')
  })

  it('refuses a record whose account signature is not the account’s', async () => {
    const parsed = JSON.parse(record) as { accountSignature: string }
    const forged = (await Wallet.createRandom().signMessage('x')).toLowerCase()
    expect(await refusal(record.replace(parsed.accountSignature, forged))).toBe('bad_account_signature')
  })

  it('refuses anything not in canonical form', async () => {
    expect(await refusal(` ${record}`)).toBe('malformed')
    expect(await refusal(record.replace('"v":1', '"v":2'))).toBe('malformed')
    expect(await refusal(record.replace('"issuedAt":1700000000000', '"issuedAt":1.7e12'))).toBe('malformed')
    expect(await refusal('not json')).toBe('malformed')
    expect(await refusal(JSON.stringify({ ...JSON.parse(record), extra: 1 }))).toBe('malformed')
  })

  it('tells the same binding from a changed one, whatever the issue time', async () => {
    const a = identityBodyOf(record)
    expect(sameBinding(a, { ...a, issuedAt: 2 })).toBe(true)
    expect(sameBinding(a, { ...a, account: Wallet.createRandom().address.toLowerCase() })).toBe(false)
  })
})
