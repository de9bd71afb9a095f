import { createHash, createPublicKey } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttestService, type AttestInit, enrol, parsePublic, Tpm2Tools } from '../../node/attest/index.ts'
import { createLogger } from '../../node/log/logger.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { ATTEST_PROTOCOL, type P2pAttestation, type P2pEvents } from '../../node/p2p/index.ts'
import { decodeMessage, encodeMessage, frameStream } from '../../node/p2p/framing.ts'
import type { Db } from '../../node/store/database.ts'
import { EnrolmentRepository } from '../../node/store/enrolments.ts'
import { nextEvent, startNode, type TestNode, tempDir, waitFor } from '../p2p/helpers.ts'
import { type SoftTpm, startSoftTpm } from './swtpm.ts'

type Failed = P2pEvents['share:attempt-failed'][0]

const logger = createLogger({ level: 'silent' })
const measurement = (text: string) => createHash('sha256').update(text).digest('hex')

/** The node's attestation component, as node/main.ts wires it into the p2p layer. */
function attestation(service: AttestService): P2pAttestation {
  return {
    answer: (challenge, options) => service.answer(challenge, options),
    ...(service.verifies
      ? { verify: (peerId: string, answer: unknown, challenge) => service.verify(peerId, answer, challenge) }
      : {})
  }
}

function attestInit(overrides: Partial<AttestInit>): AttestInit {
  return {
    enabled: false,
    tcti: 'device:/dev/null',
    akHandle: '0x81010010',
    akAlgorithm: 'rsassa',
    commandTimeoutMs: 10_000,
    ...overrides
  }
}

describe('maximum tier: the sender attests the recipient over /dmn/attest/1.0.0', () => {
  const dirs = [tempDir('att-a'), tempDir('att-b'), tempDir('att-c'), tempDir('att-d')]
  const tpms: SoftTpm[] = []
  const nodes: TestNode[] = []
  let a: TestNode
  let b: TestNode
  let c: TestNode
  let d: TestNode

  const failureOf = (node: TestNode, shareId: string) =>
    nextEvent<Failed>(node.p2p, 'share:attempt-failed', (e) => e.share.shareId === shareId, 20_000)

  beforeAll(async () => {
    // B is the known-good platform; D booted something else into PCR 10.
    const [tpmB, tpmD] = await Promise.all([startSoftTpm(), startSoftTpm()])
    tpms.push(tpmB, tpmD)
    await tpmB.extend(10, measurement('approved kernel'))
    await tpmD.extend(10, measurement('unknown kernel'))
    const attestB = new AttestService(
      { enrolments: () => new EnrolmentRepository(b.db), logger },
      attestInit({ enabled: true, tcti: tpmB.tcti })
    )
    const attestD = new AttestService(
      { enrolments: () => new EnrolmentRepository(d.db), logger },
      attestInit({ enabled: true, tcti: tpmD.tcti, akAlgorithm: 'ecdsa' })
    )
    await Promise.all([attestB.start(), attestD.start()])

    // The operator's baseline is B's PCRs, read off the known-good machine.
    const policyFile = join(dirs[0]!.path, 'pcr-policy.json')
    const baseline = await new Tpm2Tools({
      tcti: tpmB.tcti,
      akHandle: '0x81010010',
      akAlgorithm: 'rsassa',
      timeoutMs: 10_000
    }).pcrRead()
    writeFileSync(
      policyFile,
      JSON.stringify({
        bank: 'sha256',
        pcrs: Object.fromEntries(
          [...baseline].map(([pcr, v]) => [String(pcr), [Buffer.from(v).toString('hex')]])
        )
      })
    )
    let aDb: Db | undefined
    const attestA = new AttestService(
      { enrolments: () => new EnrolmentRepository(aDb as Db), logger },
      attestInit({ policyFile })
    )
    await attestA.start()

    ;[a, b, c, d] = await Promise.all([
      startNode(dirs[0]!.path, { attestation: attestation(attestA) }),
      startNode(dirs[1]!.path, { attestation: attestation(attestB) }),
      startNode(dirs[2]!.path),
      startNode(dirs[3]!.path, { attestation: attestation(attestD) })
    ])
    nodes.push(a, b, c, d)
    aDb = a.db
    // Enrolment: A's operator pins the AK each recipient's operator exported (dmn attest show-ak).
    const enrolments = new EnrolmentRepository(a.db)
    for (const [node, service] of [
      [b, attestB],
      [d, attestD]
    ] as const) {
      const ak = (await service.akPublic()) as Uint8Array
      enrol(enrolments, node.p2p.peerId, parsePublic(ak).key)
    }
    for (const peer of [b, c, d]) {
      await a.p2p.connect(peer.p2p.multiaddrs[0]!)
      // High and maximum need operator-established trust on both ends.
      a.p2p.allowPeer(peer.p2p.peerId)
      peer.p2p.allowPeer(a.p2p.peerId)
    }
  }, 60_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    await Promise.all(tpms.map((t) => t.stop()))
    for (const dir of dirs) dir.remove()
  })

  it('delivers a maximum-tier share to a recipient whose quote verifies', async () => {
    const data = new TextEncoder().encode('for attested eyes only')
    const { shareId, dataHash } = a.p2p.shareData({ data, recipient: b.p2p.peerId, tier: 'maximum' })
    const delivered = await waitFor('the share to be delivered', () => {
      const share = a.p2p.getShare(shareId)
      return share.state === 'delivered' ? share : undefined
    })
    expect(delivered.receipt?.body.tier).toBe('maximum')
    expect((await b.p2p.getRecord(dataHash)).data).toEqual(data)
  })

  it('refuses a recipient without a TPM with AttestationUnavailableError, and it never receives the data', async () => {
    const { shareId, dataHash } = a.p2p.shareData({
      data: new Uint8Array([7, 7, 7]),
      recipient: c.p2p.peerId,
      tier: 'maximum'
    })
    const failed = await failureOf(a, shareId)
    expect(failed.error).toBe('AttestationUnavailableError')
    expect(a.p2p.getShare(shareId)).toMatchObject({
      state: 'queued',
      lastError: expect.stringMatching(/^AttestationUnavailableError: /)
    })
    expect(c.p2p.recordInfo(dataHash)).toBeUndefined()
  })

  it('refuses a recipient whose PCR 10 is not in the policy with PcrPolicyViolationError', async () => {
    const { shareId, dataHash } = a.p2p.shareData({
      data: new Uint8Array([1, 0, 1]),
      recipient: d.p2p.peerId,
      tier: 'maximum'
    })
    const failed = await failureOf(a, shareId)
    expect(failed.error).toBe('PcrPolicyViolationError')
    expect(a.p2p.getShare(shareId).lastError).toMatch(/^PcrPolicyViolationError: PCR 10 /)
    expect(d.p2p.recordInfo(dataHash)).toBeUndefined()
  })

  it('refuses a recipient whose AK is not enrolled with AkNotEnrolledError, and delivers once it is', async () => {
    const enrolments = new EnrolmentRepository(a.db)
    const pinned = enrolments.get(b.p2p.peerId)?.akPublicPem as string
    enrolments.remove(b.p2p.peerId)
    const { shareId } = a.p2p.shareData({
      data: new Uint8Array([2]),
      recipient: b.p2p.peerId,
      tier: 'maximum'
    })
    expect((await failureOf(a, shareId)).error).toBe('AkNotEnrolledError')
    expect(a.p2p.getShare(shareId).state).toBe('queued')
    // The operator enrols the AK: the next attempt, on a fresh quote, goes through.
    enrol(enrolments, b.p2p.peerId, createPublicKey(pinned))
    await waitFor('the share to be delivered', () => a.p2p.getShare(shareId).state === 'delivered')
  })

  it('answers a malformed challenge with FrameMalformedError and quotes nothing for it', async () => {
    const stream = await a.p2p.libp2p.dialProtocol(peerIdFromString(b.p2p.peerId), ATTEST_PROTOCOL)
    const frames = frameStream(stream, 64 * 1024)
    const signal = AbortSignal.timeout(10_000)
    await frames.write(encodeMessage({ payload_id: 'not hex', nonce: '00' }), { signal })
    const answer = decodeMessage(await frames.read({ signal }))
    expect(answer).toMatchObject({ ok: false, error: 'FrameMalformedError' })
    expect(answer).not.toHaveProperty('tpm_attestation')
  })

  it('still refuses to queue a maximum-tier share on a node that cannot verify', () => {
    expect(() =>
      c.p2p.shareData({ data: new Uint8Array(1), recipient: a.p2p.peerId, tier: 'maximum' })
    ).toThrow(expect.objectContaining({ name: 'AttestationNotConfiguredError' }))
  })
})
