import type { AbortOptions, Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { DmnError } from '../core/errors.ts'
import { FRAME_HEADER_BYTES, MESSAGE_VERSION } from './constants.ts'
import { FrameMalformedError, FrameTooLargeError, RateLimitedError, RemoteRefusalError } from './errors.ts'

/**
 * Length-prefixed frames over a libp2p stream: a 4-byte big-endian length, then that many bytes.
 * The length is checked against the maximum before any of the body is awaited, so an oversized frame
 * is refused without being buffered whole. Writes wait for the stream to drain (backpressure).
 * A frame is written with its header in one write, so the header never travels in a message alone.
 */
export interface FrameStream {
  /** The next frame; throws FrameTooLargeError, or FrameMalformedError when the stream ends early. */
  read(options?: AbortOptions): Promise<Uint8Array>
  write(frame: Uint8Array, options?: AbortOptions): Promise<void>
  /** Bytes read and written so far, headers included (for the network stats). */
  readonly bytesRead: number
  readonly bytesWritten: number
}

/** Frames up to this size are written together with their header, in one buffer. */
const COALESCE_MAX_BYTES = 64 * 1024

/**
 * `maxFrameBytes` bounds the frames read; `maxWriteBytes` (the same by default) the frames written,
 * for a protocol whose requests are small and whose answers are not (`/dmn/fetch/1.0.0`).
 */
export function frameStream(
  stream: Stream,
  maxFrameBytes: number,
  options: { maxWriteBytes?: number } = {}
): FrameStream {
  const maxWriteBytes = options.maxWriteBytes ?? maxFrameBytes
  // Room for one whole frame and the next header: a peer cannot make us buffer more than that.
  const bytes = byteStream(stream, { maxBufferSize: maxFrameBytes + 2 * FRAME_HEADER_BYTES + 64 * 1024 })
  let bytesRead = 0
  let bytesWritten = 0
  return {
    get bytesRead() {
      return bytesRead
    },
    get bytesWritten() {
      return bytesWritten
    },
    async read(options) {
      let header: Uint8Array
      try {
        header = (await bytes.read({ ...options, bytes: FRAME_HEADER_BYTES })).subarray()
      } catch (err) {
        throw translateReadError(err)
      }
      const length = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(0)
      if (length > maxFrameBytes) {
        throw new FrameTooLargeError(`frame of ${length} bytes exceeds the maximum of ${maxFrameBytes}`)
      }
      if (length === 0) throw new FrameMalformedError('empty frame')
      try {
        const body = (await bytes.read({ ...options, bytes: length })).subarray()
        bytesRead += FRAME_HEADER_BYTES + length
        return body
      } catch (err) {
        throw translateReadError(err)
      }
    },
    async write(frame, options) {
      if (frame.byteLength > maxWriteBytes) {
        throw new FrameTooLargeError(
          `frame of ${frame.byteLength} bytes exceeds the maximum of ${maxWriteBytes}`
        )
      }
      if (frame.byteLength <= COALESCE_MAX_BYTES) {
        // One muxer frame (and one Noise message) for header and body, rather than one each.
        const both = new Uint8Array(FRAME_HEADER_BYTES + frame.byteLength)
        new DataView(both.buffer).setUint32(0, frame.byteLength)
        both.set(frame, FRAME_HEADER_BYTES)
        await bytes.write(both, options)
      } else {
        // A large body is not copied to sit behind its header: it goes as it is, after it.
        await bytes.write(encodeFrameHeader(frame.byteLength), options)
        await bytes.write(frame, options)
      }
      bytesWritten += FRAME_HEADER_BYTES + frame.byteLength
    }
  }
}

/** The 4-byte header announcing a frame of `length` bytes. */
export function encodeFrameHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES)
  new DataView(header.buffer).setUint32(0, length)
  return header
}

function translateReadError(err: unknown): unknown {
  if (err instanceof Error && err.name === 'UnexpectedEOFError') {
    return new FrameMalformedError('stream ended inside a frame', { cause: err })
  }
  return err
}

/** Encodes a control message as UTF-8 JSON with the protocol's message version. */
export function encodeMessage(message: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: MESSAGE_VERSION, ...message }))
}

/** Decodes a control message; throws FrameMalformedError on anything but a JSON object of our version. */
export function decodeMessage(frame: Uint8Array): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame))
  } catch (err) {
    throw new FrameMalformedError('control frame is not UTF-8 JSON', { cause: err })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FrameMalformedError('control frame is not a JSON object')
  }
  const message = value as Record<string, unknown>
  if (message['v'] !== MESSAGE_VERSION)
    throw new FrameMalformedError(`unsupported message version ${String(message['v'])}`)
  return message
}

/**
 * A refusal as sent to the peer: the error's stable name and its message, nothing internal; a
 * RateLimitedError adds `retryAfterMs` when the limiter knows when the peer may send again, and the
 * per-peer `limits` that refused (so the peer can pace to them).
 */
export function refusalMessage(err: unknown): Uint8Array {
  // Only deliberate errors are named to the peer; anything else could leak internals.
  if (err instanceof DmnError) {
    const retryAfterMs = err instanceof RateLimitedError ? err.retryAfterMs : undefined
    const limits = err instanceof RateLimitedError ? err.limits : undefined
    return encodeMessage({
      ok: false,
      error: err.name,
      message: err.message.slice(0, 500),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(limits === undefined ? {} : { limits })
    })
  }
  return encodeMessage({
    ok: false,
    error: 'InternalError',
    message: 'the peer could not process the message'
  })
}

/**
 * The peer's refusal answer (`ok` not true) as a RemoteRefusalError; a `retryAfterMs` that is not a
 * non-negative finite number is ignored rather than trusted.
 */
export function refusalFrom(answer: Record<string, unknown>): RemoteRefusalError {
  const hint = answer['retryAfterMs']
  const retryAfterMs = typeof hint === 'number' && Number.isFinite(hint) && hint >= 0 ? hint : undefined
  return new RemoteRefusalError(
    String(answer['error'] ?? 'Error').slice(0, 100),
    String(answer['message'] ?? '').slice(0, 500),
    retryAfterMs === undefined ? {} : { retryAfterMs }
  )
}
