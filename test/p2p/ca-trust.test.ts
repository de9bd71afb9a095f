import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createCaCertificate,
  createNodeCsr,
  generateRsaKeyPair,
  issueNodeCertificate
} from '../../node/crypto/index.ts'
import type { P2pEvents } from '../../node/p2p/index.ts'
import { loadOrCreateIdentity } from '../../node/p2p/libp2p-node.ts'
import { keyRingIn, nextEvent, startNode, type TestNode, tempDir } from './helpers.ts'

type Refused = P2pEvents['refused'][0]

/** Issues a consortium certificate for the node that will run in `dir` (its PeerId is fixed first). */
async function issueFor(dir: string, ca: { privateKeyPem: string; certificatePem: string }): Promise<string> {
  const ring = await keyRingIn(dir)
  const peerId = peerIdFromPrivateKey(await loadOrCreateIdentity(ring)).toString()
  const csrPem = createNodeCsr({
    peerId,
    signingPrivateKeyPem: ring.identity.signing.privateKeyPem,
    encryptionPublicKeyPem: ring.identity.encryption.publicKeyPem
  })
  return issueNodeCertificate({
    csrPem,
    caPrivateKeyPem: ca.privateKeyPem,
    caCertificatePem: ca.certificatePem
  })
}

describe('trust through a consortium CA', () => {
  const dirs = [tempDir('ca-x'), tempDir('ca-y'), tempDir('ca-z')]
  const nodes: TestNode[] = []
  let x: TestNode
  let y: TestNode

  beforeAll(async () => {
    const caKey = await generateRsaKeyPair(2048)
    const ca = {
      privateKeyPem: caKey.privateKeyPem,
      certificatePem: createCaCertificate({
        commonName: 'test consortium',
        privateKeyPem: caKey.privateKeyPem
      })
    }
    const [certX, certY] = await Promise.all([issueFor(dirs[0]!.path, ca), issueFor(dirs[1]!.path, ca)])
    const common = { trust: 'ca' as const, caCertificatePems: [ca.certificatePem] }
    ;[x, y] = await Promise.all([
      startNode(dirs[0]!.path, { ...common, certificatePem: certX }),
      startNode(dirs[1]!.path, { ...common, certificatePem: certY })
    ])
    nodes.push(x, y)
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    for (const dir of dirs) dir.remove()
  })

  it('trusts a peer whose certificate chains to the CA as ca, enough for the high tier', async () => {
    await x.p2p.connect(y.p2p.multiaddrs[0]!)
    const delivered = nextEvent<P2pEvents['share:delivered'][0]>(x.p2p, 'share:delivered')
    const { shareId } = x.p2p.shareData({
      data: new Uint8Array(2048).fill(1),
      recipient: y.p2p.peerId,
      tier: 'high'
    })
    expect((await delivered).receipt.body).toMatchObject({ shareId, tier: 'high' })
    expect(x.p2p.peers().find((p) => p.peerId === y.p2p.peerId)?.trust).toBe('ca')
    expect(y.p2p.peers().find((p) => p.peerId === x.p2p.peerId)?.trust).toBe('ca')
  })

  it('refuses a self-signed peer in ca mode with CertificateUntrustedError', async () => {
    const z = await startNode(dirs[2]!.path)
    nodes.push(z)
    const refused = nextEvent<Refused>(x.p2p, 'refused', (r) => r.peerId === z.p2p.peerId)
    await z.p2p.connect(x.p2p.multiaddrs[0]!)
    expect((await refused).error).toBe('CertificateUntrustedError')
    expect(x.p2p.peers().find((p) => p.peerId === z.p2p.peerId)?.trust).toBe('unknown')
  })
})
