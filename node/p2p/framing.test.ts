import { streamPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import {
  decodeMessage,
  encodeFrameHeader,
  encodeMessage,
  frameStream,
  refusalFrom,
  refusalMessage
} from './framing.ts'
import { PeerDeniedError, RateLimitedError } from './errors.ts'

describe('frames', () => {
  it('carries frames of any size up to the maximum, in order', async () => {
    const [a, b] = await streamPair()
    const out = frameStream(a, 1024)
    const inbound = frameStream(b, 1024)
    const big = new Uint8Array(1024).fill(7)
    await out.write(new Uint8Array([1, 2, 3]))
    await out.write(big)
    expect(await inbound.read()).toEqual(new Uint8Array([1, 2, 3]))
    expect(await inbound.read()).toEqual(big)
    expect(inbound.bytesRead).toBe(4 + 3 + 4 + 1024)
  })

  it('sends a small frame in one message with its header, a large one after its header', async () => {
    const [a, b] = await streamPair()
    const sizes: number[] = []
    b.addEventListener('message', (evt) => sizes.push(evt.data.byteLength))
    const out = frameStream(a, 1024 * 1024)
    const inbound = frameStream(b, 1024 * 1024)
    const small = new Uint8Array(100).fill(1)
    const large = new Uint8Array(200 * 1024).fill(2)
    await out.write(small)
    await out.write(large)
    expect(await inbound.read()).toEqual(small)
    expect(await inbound.read()).toEqual(large)
    expect(sizes[0]).toBe(4 + 100)
    expect(sizes[1]).toBe(4)
    expect(out.bytesWritten).toBe(4 + 100 + 4 + large.length)
  })

  it('refuses a frame whose announced length exceeds the maximum before reading its body', async () => {
    const [a, b] = await streamPair()
    a.send(encodeFrameHeader(1025))
    await expect(frameStream(b, 1024).read()).rejects.toHaveProperty('name', 'FrameTooLargeError')
  })

  it('refuses to write an oversized frame', async () => {
    const [a] = await streamPair()
    await expect(frameStream(a, 8).write(new Uint8Array(9))).rejects.toHaveProperty(
      'name',
      'FrameTooLargeError'
    )
  })

  it('reports a stream that ends inside a frame as malformed', async () => {
    const [a, b] = await streamPair()
    a.send(encodeFrameHeader(10))
    a.send(new Uint8Array(3))
    await a.close()
    await expect(frameStream(b, 1024).read()).rejects.toHaveProperty('name', 'FrameMalformedError')
  })

  it('decodes only JSON objects of the current message version', () => {
    expect(decodeMessage(encodeMessage({ ok: true }))).toEqual({ v: 1, ok: true })
    const bad = [
      new Uint8Array([0xff, 0xfe]),
      new TextEncoder().encode('[1]'),
      new TextEncoder().encode('{"v":2}')
    ]
    for (const frame of bad)
      expect(() => decodeMessage(frame)).toThrow(expect.objectContaining({ name: 'FrameMalformedError' }))
  })

  it('names deliberate errors in refusals and hides everything else', () => {
    expect(decodeMessage(refusalMessage(new PeerDeniedError('no')))).toMatchObject({
      ok: false,
      error: 'PeerDeniedError'
    })
    expect(decodeMessage(refusalMessage(new TypeError('/secret/path')))).toEqual({
      v: 1,
      ok: false,
      error: 'InternalError',
      message: 'the peer could not process the message'
    })
  })

  it('reads frames up to the read limit and writes frames up to the larger write limit', async () => {
    const [a, b] = await streamPair()
    const small = frameStream(a, 8, { maxWriteBytes: 64 })
    await small.write(new Uint8Array(64))
    expect(await frameStream(b, 64).read()).toHaveLength(64)
    b.send(encodeFrameHeader(9))
    await expect(small.read()).rejects.toHaveProperty('name', 'FrameTooLargeError')
  })

  it('carries the retry-after hint of a RateLimitedError and ignores a hint that is not a duration', () => {
    const answer = decodeMessage(refusalMessage(new RateLimitedError('slow down', { retryAfterMs: 250 })))
    expect(answer).toMatchObject({ ok: false, error: 'RateLimitedError', retryAfterMs: 250 })
    expect(refusalFrom(answer)).toMatchObject({ refusal: 'RateLimitedError', retryAfterMs: 250 })
    expect(decodeMessage(refusalMessage(new RateLimitedError('streams')))).not.toHaveProperty('retryAfterMs')
    for (const hint of [-1, '250', Number.POSITIVE_INFINITY, null]) {
      expect(refusalFrom({ ok: false, error: 'RateLimitedError', retryAfterMs: hint })).toHaveProperty(
        'retryAfterMs',
        undefined
      )
    }
  })
})
