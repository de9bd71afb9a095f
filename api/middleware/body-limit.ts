import { bodyLimit } from 'hono/body-limit'
import { PayloadTooLargeError } from '../errors.ts'

/** Reads the body within `maxBytes`; answers 413 from the Content-Length alone when it says too much. */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(maxBytes)
    }
  })
}
