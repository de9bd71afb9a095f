import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { AttestationNotConfiguredError } from '../core/errors.ts'
import { SHARE_ID_PATTERN } from '../core/share.ts'
import { ATTEST_PROTOCOL, MAX_CONTROL_FRAME_BYTES } from './constants.ts'
import { FrameMalformedError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import {
  type InboundExchange,
  InboundProtocol,
  type InboundProtocolComponents,
  type ProtocolInit
} from './inbound-stream.ts'

/** A challenge: the share it is for and the sender's fresh nonce. */
export interface AttestationChallenge {
  readonly payloadId: string
  readonly nonce: Uint8Array
}

/**
 * What the p2p layer needs of TPM attestation (node/attest implements it; wired in node/main.ts).
 * `answer` produces this node's `tpm_attestation` object; `verify`, when present, judges a peer's
 * and throws a named error on any failure. Without `verify` the maximum tier is refused.
 */
export interface P2pAttestation {
  answer(challenge: AttestationChallenge, options: { signal: AbortSignal }): Promise<object>
  verify?(peerId: string, answer: unknown, challenge: AttestationChallenge): unknown
}

/** What the attest protocol needs. */
export interface AttestProtocolComponents extends InboundProtocolComponents {
  /** TPM attestation; without it this node answers that it has no TPM and verifies no recipient. */
  readonly attestation?: P2pAttestation | undefined
}

/** Settings of the attest protocol (all optional). */
export type AttestProtocolInit = ProtocolInit

/** The answer of a node that has no attestation component: no TPM. */
const NO_TPM = {
  is_available: false,
  pcr_banks: [],
  pcr_values: {},
  aik_pubkey_b64: null,
  quote_b64: null,
  signature_b64: null
}

const NONCE_BYTES = 16

export type { AttestProtocol }

/**
 * `/dmn/attest/1.0.0`: before a maximum-tier share leaves, the sender sends
 * `{v:1, payload_id, nonce}` (share id, 16 random bytes in hex); the recipient answers
 * `{v:1, ok:true, tpm_attestation}` with a quote whose qualifying data binds both. One exchange per
 * delivery attempt, so every attempt is judged on a fresh quote.
 */
class AttestProtocol extends InboundProtocol {
  readonly name = 'attest-protocol'
  readonly #attestation: P2pAttestation | undefined

  constructor(components: AttestProtocolComponents, init: AttestProtocolInit) {
    super(components, init, { protocol: ATTEST_PROTOCOL, maxRequestBytes: MAX_CONTROL_FRAME_BYTES })
    this.#attestation = components.attestation
  }

  /** Recipient side: quote for the challenge (or say there is no TPM). */
  protected async serve({ signal, frames }: InboundExchange): Promise<void> {
    // A quote costs the TPM real time: each one counts against the peer's inbound budget.
    const challenge = parseChallenge(decodeMessage(await frames.read({ signal })))
    const answer = this.#attestation ? await this.#attestation.answer(challenge, { signal }) : NO_TPM
    await frames.write(encodeMessage({ ok: true, tpm_attestation: answer }), { signal })
  }

  /** True when this node can verify recipients, so maximum-tier shares may be queued. */
  get verifies(): boolean {
    return typeof this.#attestation?.verify === 'function'
  }

  /**
   * Sender side: challenges `peerId` for the share `payloadId` and verifies the answer. Throws the
   * verifier's named error (or the peer's refusal) when the recipient is not attested.
   */
  async challenge(peerId: string, payloadId: string, options: { signal: AbortSignal }): Promise<void> {
    const verify = this.#attestation?.verify
    if (!verify) throw new AttestationNotConfiguredError('maximum tier needs an attestation verifier')
    const challenge = { payloadId, nonce: new Uint8Array(randomBytes(NONCE_BYTES)) }
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(this.timeoutMs)])
    const stream = await this.libp2p.dialProtocol(peerIdFromString(peerId), ATTEST_PROTOCOL, { signal })
    const frames = frameStream(stream, MAX_CONTROL_FRAME_BYTES)
    let answer: Record<string, unknown>
    try {
      await frames.write(
        encodeMessage({ payload_id: payloadId, nonce: Buffer.from(challenge.nonce).toString('hex') }),
        { signal }
      )
      answer = decodeMessage(await frames.read({ signal }))
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
    if (answer['ok'] !== true) throw refusalFrom(answer)
    await verify.call(this.#attestation, peerId, answer['tpm_attestation'], challenge)
  }
}

/** The attest protocol, answering challenges from its start and verifying recipients on demand. */
export function createAttestProtocol(
  components: AttestProtocolComponents,
  init: AttestProtocolInit = {}
): AttestProtocol {
  return new AttestProtocol(components, init)
}

function parseChallenge(message: Record<string, unknown>): AttestationChallenge {
  const payloadId = message['payload_id']
  const nonce = message['nonce']
  if (typeof payloadId !== 'string' || !SHARE_ID_PATTERN.test(payloadId))
    throw new FrameMalformedError('attestation challenge without a payload id')
  if (typeof nonce !== 'string' || !new RegExp(`^[0-9a-f]{${NONCE_BYTES * 2}}$`).test(nonce))
    throw new FrameMalformedError(`attestation challenge nonce must be ${NONCE_BYTES} bytes of hex`)
  return { payloadId, nonce: new Uint8Array(Buffer.from(nonce, 'hex')) }
}
