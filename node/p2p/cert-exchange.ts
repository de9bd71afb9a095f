import type { Connection, IdentifyResult, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { DmnError } from '../core/errors.ts'
import type { Logger } from '../log/logger.ts'
import { CERT_PROTOCOL, MAX_CONTROL_FRAME_BYTES, REFUSAL_WRITE_TIMEOUT_MS } from './constants.ts'
import { errorName, FrameMalformedError, PeerCertificateMissingError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom, refusalMessage } from './framing.ts'
import { namedRefusal, type ProtocolInit, protocolSettings } from './inbound-stream.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { TrustPolicy, VerifiedPeer } from './trust.ts'

/** What the certificate exchange needs. */
export interface CertificateExchangeComponents {
  readonly libp2p: DmnLibp2p
  readonly trust: Pick<TrustPolicy, 'accept'>
  readonly logger: Logger
  /** This node's certificate, answered to every request. */
  readonly certificatePem: string
  /** Called once a connected peer's certificate checked out. */
  readonly onVerified: (peerId: string, peer: VerifiedPeer) => void
  /** Called when a peer's certificate is refused (loudly: a changed pin may be an impersonation). */
  readonly onRefused: (peerId: string, err: unknown) => void
}

/** Settings of the certificate exchange (all optional). */
export type CertificateExchangeInit = ProtocolInit

export type { CertificateExchange }

/**
 * `/dmn/cert/1.0.0`: each side asks the other for its node certificate as soon as a connection is up,
 * and on demand before a share. One request frame `{v:1}`, one answer `{v:1, ok:true, certificate}`.
 * The result of the check is kept per peer while it stays connected, so every share on that
 * connection is judged against the same verified keys (or refused with the same error).
 */
class CertificateExchange {
  readonly name = 'cert-protocol'
  readonly #components: CertificateExchangeComponents
  readonly #settings: Required<ProtocolInit>
  readonly #verified = new Map<string, Promise<VerifiedPeer>>()

  constructor(components: CertificateExchangeComponents, init: CertificateExchangeInit) {
    this.#components = components
    this.#settings = protocolSettings(init)
  }

  /**
   * Answers certificate requests, and asks every newly identified peer that speaks the protocol for
   * its certificate; a peer's verdict is forgotten when it disconnects.
   */
  async start(): Promise<void> {
    const { libp2p } = this.#components
    const { maxInboundStreams, maxOutboundStreams } = this.#settings
    await libp2p.handle(CERT_PROTOCOL, this.#handle, { maxInboundStreams, maxOutboundStreams })
    libp2p.addEventListener('peer:identify', this.#onIdentify)
    libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
  }

  async stop(): Promise<void> {
    const { libp2p } = this.#components
    libp2p.removeEventListener('peer:identify', this.#onIdentify)
    libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    await libp2p.unhandle(CERT_PROTOCOL)
  }

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const peerId = evt.detail.peerId.toString()
    if (!evt.detail.protocols.includes(CERT_PROTOCOL)) return
    this.ensure(peerId)
      .then((peer) => this.#components.onVerified(peerId, peer))
      .catch((err: unknown) =>
        this.#components.logger.debug({ peerId, err: errorName(err) }, 'certificate exchange failed')
      )
  }

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.forget(evt.detail.toString())
  }

  /** Stream handler answering our own certificate. */
  readonly #handle = async (stream: Stream, _connection: Connection): Promise<void> => {
    const signal = AbortSignal.timeout(this.#settings.timeoutMs)
    const frames = frameStream(stream, MAX_CONTROL_FRAME_BYTES)
    try {
      decodeMessage(await frames.read({ signal }))
      await frames.write(encodeMessage({ ok: true, certificate: this.#components.certificatePem }), {
        signal
      })
      await stream.close({ signal })
    } catch (err) {
      const refusal = namedRefusal(err, signal, this.#settings.timeoutMs)
      await frames
        .write(refusalMessage(refusal), { signal: AbortSignal.timeout(REFUSAL_WRITE_TIMEOUT_MS) })
        .catch(() => {})
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /**
   * The verified keys of a peer that sent this node a message: as `ensure`, but a peer whose
   * certificate cannot be had (it serves no `/dmn/cert/1.0.0`, or the exchange broke off) is refused
   * with PeerCertificateMissingError. A passed deadline is left as it is, for the caller to name.
   */
  async ofSender(peerId: string, options: { signal: AbortSignal }): Promise<VerifiedPeer> {
    try {
      return await this.ensure(peerId, options)
    } catch (err) {
      if (err instanceof DmnError || options.signal.aborted) throw err
      const reason = `could not obtain the peer's node certificate: ${errorName(err)}`
      throw new PeerCertificateMissingError(reason, { cause: err })
    }
  }

  /**
   * The peer's verified keys: from this connection's earlier exchange, or by asking the peer now
   * (dialling it, through the DHT if needed). Throws the refusal error when the certificate was refused.
   */
  ensure(peerId: string, options: { signal?: AbortSignal } = {}): Promise<VerifiedPeer> {
    let pending = this.#verified.get(peerId)
    if (!pending) {
      pending = this.#exchange(peerIdFromString(peerId), options.signal)
      this.#verified.set(peerId, pending)
      pending.catch((err: unknown) => {
        if (isCertificateVerdict(err)) {
          this.#components.onRefused(peerId, err)
        } else if (this.#verified.get(peerId) === pending) {
          // Not a verdict on the certificate (dial failure, timeout): ask again next time.
          this.#verified.delete(peerId)
        }
      })
    }
    return pending
  }

  /** The peer disconnected: its next connection exchanges certificates again. */
  forget(peerId: string): void {
    this.#verified.delete(peerId)
  }

  async #exchange(peer: PeerId, signal: AbortSignal | undefined): Promise<VerifiedPeer> {
    const timeout = AbortSignal.timeout(this.#settings.timeoutMs)
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
    const stream = await this.#components.libp2p
      .dialProtocol(peer, CERT_PROTOCOL, { signal: combined })
      .catch((err: unknown) => {
        if (errorName(err) !== 'UnsupportedProtocolError') throw err
        throw new PeerCertificateMissingError(`the peer does not serve ${CERT_PROTOCOL}`, { cause: err })
      })
    const frames = frameStream(stream, MAX_CONTROL_FRAME_BYTES)
    let answer: Record<string, unknown>
    try {
      await frames.write(encodeMessage({}), { signal: combined })
      answer = decodeMessage(await frames.read({ signal: combined }))
      await stream.close({ signal: combined })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
    if (answer['ok'] !== true) {
      throw refusalFrom(answer)
    }
    if (typeof answer['certificate'] !== 'string')
      throw new FrameMalformedError('certificate answer without certificate')
    return this.#components.trust.accept(peer.toString(), answer['certificate'])
  }
}

/** The certificate exchange: answers and asks for node certificates from its start. */
export function createCertificateExchange(
  components: CertificateExchangeComponents,
  init: CertificateExchangeInit = {}
): CertificateExchange {
  return new CertificateExchange(components, init)
}

/** Errors that are a verdict on the peer's certificate or trust, as opposed to a network failure. */
export function isCertificateVerdict(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  return (
    [
      'PinnedKeyChangedError',
      'IdentityRecordMismatchError',
      'CertificateBindingError',
      'PeerDeniedError',
      'FrameMalformedError'
    ].includes(err.name) || err.name.startsWith('Certificate')
  )
}
