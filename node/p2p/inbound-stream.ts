import type { Connection, Stream } from '@libp2p/interface'
import { DmnError } from '../core/errors.ts'
import { MAX_FRAME_BYTES, REFUSAL_WRITE_TIMEOUT_MS } from './constants.ts'
import { StreamTimeoutError } from './errors.ts'
import { type FrameStream, frameStream, refusalMessage } from './framing.ts'
import type { InboundLimits } from './limits.ts'
import type { TrafficStats } from './stats.ts'

/** What a request-answer protocol handler works with once its stream is admitted. */
export interface InboundExchange {
  readonly remote: string
  /** The handler's deadline, for every read, write and lookup it makes. */
  readonly signal: AbortSignal
  readonly frames: FrameStream
}

export interface InboundStreamInit {
  readonly protocol: string
  readonly limits: InboundLimits
  readonly timeoutMs: number
  /** The largest frame the peer may send (MAX_FRAME_BYTES by default); answers may be that large. */
  readonly maxRequestBytes?: number
  readonly onRefused: (peerId: string, protocol: string, err: unknown) => void
  /** When given, the bytes of a refusal answer are counted as traffic sent. */
  readonly refusalStats?: TrafficStats
}

/**
 * Serves one inbound stream: takes a slot from the per-peer limits (released at the end, whatever
 * happens), runs `serve` under a deadline and closes the stream. Any failure, a refused slot
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
  let release: (() => void) | undefined
  try {
    release = init.limits.openStream(remote)
    await serve({ remote, signal, frames })
    await stream.close({ signal })
  } catch (err) {
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
    release?.()
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
