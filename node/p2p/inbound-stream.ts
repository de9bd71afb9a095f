import type { Connection, Stream, StreamHandlerOptions } from '@libp2p/interface'
import { DmnError } from '../core/errors.ts'
import type { Startable } from '../core/lifecycle.ts'
import {
  MAX_FRAME_BYTES,
  MAX_INBOUND_STREAMS_PER_PROTOCOL,
  MAX_OUTBOUND_STREAMS_PER_PROTOCOL,
  REFUSAL_WRITE_TIMEOUT_MS
} from './constants.ts'
import { P2P_DEFAULTS } from './defaults.ts'
import { StreamTimeoutError } from './errors.ts'
import { type FrameStream, frameStream, refusalMessage } from './framing.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { InboundLimits } from './limits.ts'
import type { TrafficStats } from './stats.ts'

/** What a request-answer protocol handler works with once its stream is admitted. */
export interface InboundExchange {
  readonly remote: string
  /** The handler's deadline, for every read, write and lookup it makes. */
  readonly signal: AbortSignal
  readonly frames: FrameStream
  /**
   * Gives the peer's stream slot back (per-peer limits) before the answer is written: a sender that
   * opens its next stream the moment it reads the answer finds the slot free. Called at the end
   * anyway; calling it twice frees one slot.
   */
  readonly release: () => void
}

export interface InboundStreamInit {
  readonly protocol: string
  readonly limits: InboundLimits
  readonly timeoutMs: number
  /** The largest frame the peer may send (MAX_FRAME_BYTES by default); answers may be that large. */
  readonly maxRequestBytes?: number
  readonly onRefused: RefusalListener
  /** When given, the bytes of a refusal answer are counted as traffic sent. */
  readonly refusalStats?: TrafficStats
}

/**
 * Serves one inbound stream: takes a slot from the per-peer limits (released before the answer or
 * the refusal is written, and at the end whatever happens), runs `serve` under a deadline and
 * closes the stream. Any failure, a refused slot
 * included, is reported to `onRefused` and answered with a typed refusal frame; if even that cannot
 * be written, the stream is aborted.
 */
export async function serveInboundStream(
  stream: Stream,
  connection: Connection,
  init: InboundStreamInit,
  serve: (exchange: InboundExchange) => Promise<void>
): Promise<void> {
  const remote = connection.remotePeer.toString()
  const signal = AbortSignal.timeout(init.timeoutMs)
  const frames = frameStream(stream, init.maxRequestBytes ?? MAX_FRAME_BYTES, {
    maxWriteBytes: MAX_FRAME_BYTES
  })
  let slot: (() => void) | undefined
  const release = () => slot?.()
  try {
    slot = init.limits.openStream(remote)
    await serve({ remote, signal, frames, release })
    await stream.close({ signal })
  } catch (err) {
    release()
    const refusal = namedRefusal(err, signal, init.timeoutMs)
    init.onRefused(remote, init.protocol, refusal)
    // Its own deadline: the stream's may be the very thing this refusal reports.
    const answerSignal = AbortSignal.timeout(REFUSAL_WRITE_TIMEOUT_MS)
    try {
      await frames.write(refusalMessage(refusal), { signal: answerSignal })
      init.refusalStats?.recordOut(frames.bytesWritten)
      await stream.close({ signal: answerSignal })
    } catch (writeErr) {
      stream.abort(writeErr instanceof Error ? writeErr : new Error(String(writeErr)))
    }
  } finally {
    release()
  }
}

/**
 * The error an inbound exchange is refused with: once the stream's deadline passed, whatever the
 * aborted read or lookup threw (a DOMException, not one of ours) becomes StreamTimeoutError, so the
 * peer learns why instead of reading an `InternalError`.
 */
export function namedRefusal(err: unknown, deadline: AbortSignal, timeoutMs: number): unknown {
  if (deadline.aborted && !(err instanceof DmnError)) {
    return new StreamTimeoutError(`the exchange did not complete within ${timeoutMs} ms`, { cause: err })
  }
  return err
}

/** Told of every refused peer exchange: who, on which protocol, and the error it was refused with. */
export type RefusalListener = (peerId: string, protocol: string, err: unknown) => void

/** What a protocol that serves inbound streams needs. */
export interface InboundProtocolComponents {
  readonly libp2p: DmnLibp2p
  readonly limits: InboundLimits
  readonly onRefused: RefusalListener
}

/** The settings every protocol of the node takes, each with a default. */
export interface ProtocolInit {
  /** The deadline of one exchange, served or asked (`p2p.streamTimeoutMs`). */
  readonly timeoutMs?: number
  /** Inbound streams libp2p admits per connection (MAX_INBOUND_STREAMS_PER_PROTOCOL). */
  readonly maxInboundStreams?: number
  /** Streams this node opens per connection (MAX_OUTBOUND_STREAMS_PER_PROTOCOL). */
  readonly maxOutboundStreams?: number
}

/** `init` with its defaults filled in. */
export function protocolSettings(init: ProtocolInit): Required<ProtocolInit> {
  return {
    timeoutMs: init.timeoutMs ?? P2P_DEFAULTS.streamTimeoutMs,
    maxInboundStreams: init.maxInboundStreams ?? MAX_INBOUND_STREAMS_PER_PROTOCOL,
    maxOutboundStreams: init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS_PER_PROTOCOL
  }
}

/** How one request-answer protocol serves: its id, its request frame limit, whether refusals count as traffic. */
export interface InboundServing {
  readonly protocol: string
  readonly maxRequestBytes?: number
  readonly refusalStats?: TrafficStats
}

/**
 * The shared part of the node's request-answer protocols: `start()` registers the protocol's
 * handler, `stop()` unregisters it, and every inbound stream is served through
 * `serveInboundStream` (per-peer limits, deadline, typed refusal frames, refusals reported), with the
 * protocol's own `serve` doing the exchange.
 */
export abstract class InboundProtocol implements Startable {
  abstract readonly name: string
  /** The deadline of one exchange, served or asked. */
  protected readonly timeoutMs: number
  protected readonly libp2p: DmnLibp2p
  readonly #protocol: string
  readonly #handlerOptions: StreamHandlerOptions
  readonly #inbound: InboundStreamInit

  constructor(components: InboundProtocolComponents, init: ProtocolInit, serving: InboundServing) {
    const settings = protocolSettings(init)
    this.timeoutMs = settings.timeoutMs
    this.libp2p = components.libp2p
    this.#protocol = serving.protocol
    this.#handlerOptions = {
      maxInboundStreams: settings.maxInboundStreams,
      maxOutboundStreams: settings.maxOutboundStreams
    }
    this.#inbound = {
      protocol: serving.protocol,
      limits: components.limits,
      timeoutMs: settings.timeoutMs,
      onRefused: components.onRefused,
      ...(serving.maxRequestBytes === undefined ? {} : { maxRequestBytes: serving.maxRequestBytes }),
      ...(serving.refusalStats === undefined ? {} : { refusalStats: serving.refusalStats })
    }
  }

  async start(): Promise<void> {
    await this.libp2p.handle(this.#protocol, this.#handle, this.#handlerOptions)
  }

  async stop(): Promise<void> {
    await this.libp2p.unhandle(this.#protocol)
  }

  readonly #handle = (stream: Stream, connection: Connection): Promise<void> =>
    serveInboundStream(stream, connection, this.#inbound, (exchange) => this.serve(exchange))

  /** One admitted exchange: read the request, answer it; a throw becomes the refusal frame. */
  protected abstract serve(exchange: InboundExchange): Promise<void>
}
