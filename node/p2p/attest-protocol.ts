import { randomBytes } from 'node:crypto'
import type { Connection, Stream, StreamHandlerOptions } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { AttestationNotConfiguredError } from '../core/errors.ts'
import { SHARE_ID_PATTERN } from '../core/share.ts'
import { ATTEST_PROTOCOL, MAX_CONTROL_FRAME_BYTES } from './constants.ts'
import { FrameMalformedError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import { type InboundStreamInit, serveInboundStream } from './inbound-stream.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { InboundLimits } from './limits.ts'

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

export interface AttestProtocolInit {
  readonly libp2p: DmnLibp2p
  readonly attestation: P2pAttestation | undefined
  readonly limits: InboundLimits
  readonly timeoutMs: number
  /** How libp2p takes this protocol's inbound streams (caps sized to the node's own limiter). */
  readonly handlerOptions: StreamHandlerOptions
  readonly onRefused: (peerId: string, protocol: string, err: unknown) => void
}

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

/**
 * `/dmn/attest/1.0.0`: before a maximum-tier share leaves, the sender sends
 * `{v:1, payload_id, nonce}` (share id, 16 random bytes in hex); the recipient answers
 * `{v:1, ok:true, tpm_attestation}` with a quote whose qualifying data binds both. One exchange per
 * delivery attempt, so every attempt is judged on a fresh quote.
 */
export class AttestProtocol {
  readonly name = 'attest-protocol'
  readonly #init: AttestProtocolInit
  readonly #inbound: InboundStreamInit

  constructor(init: AttestProtocolInit) {
    this.#init = init
    this.#inbound = {
      protocol: ATTEST_PROTOCOL,
      limits: init.limits,
      timeoutMs: init.timeoutMs,
      maxRequestBytes: MAX_CONTROL_FRAME_BYTES,
      onRefused: init.onRefused
    }
  }

  /** Answers challenges from peers (with a quote, or that there is no TPM). */
  async start(): Promise<void> {
    await this.#init.libp2p.handle(ATTEST_PROTOCOL, this.handle, this.#init.handlerOptions)
  }

  async stop(): Promise<void> {
    await this.#init.libp2p.unhandle(ATTEST_PROTOCOL)
  }

  /** Recipient side: quote for the challenge (or say there is no TPM). */
  readonly handle = (stream: Stream, connection: Connection): Promise<void> =>
    // A quote costs the TPM real time: each one counts against the peer's inbound budget.
    serveInboundStream(stream, connection, this.#inbound, async ({ signal, frames }) => {
      const challenge = parseChallenge(decodeMessage(await frames.read({ signal })))
      const answer = this.#init.attestation
        ? await this.#init.attestation.answer(challenge, { signal })
        : NO_TPM
      await frames.write(encodeMessage({ ok: true, tpm_attestation: answer }), { signal })
    })

  /** True when this node can verify recipients, so maximum-tier shares may be queued. */
  get verifies(): boolean {
    return typeof this.#init.attestation?.verify === 'function'
  }

  /**
   * Sender side: challenges `peerId` for the share `payloadId` and verifies the answer. Throws the
   * verifier's named error (or the peer's refusal) when the recipient is not attested.
   */
  async challenge(peerId: string, payloadId: string, options: { signal: AbortSignal }): Promise<void> {
    const verify = this.#init.attestation?.verify
    if (!verify) throw new AttestationNotConfiguredError('maximum tier needs an attestation verifier')
    const challenge = { payloadId, nonce: new Uint8Array(randomBytes(NONCE_BYTES)) }
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(this.#init.timeoutMs)])
    const stream = await this.#init.libp2p.dialProtocol(peerIdFromString(peerId), ATTEST_PROTOCOL, { signal })
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
    await verify.call(this.#init.attestation, peerId, answer['tpm_attestation'], challenge)
  }
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
