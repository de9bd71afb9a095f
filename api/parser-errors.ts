import { maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '../node/log/logger.ts'
import { CLIENT_CLOSED } from './client-disconnect.ts'
import type { ErrorBody } from './error-response.ts'

/**
 * Requests that Node's HTTP parser refuses never reach the apps, and Node answers them with an
 * empty body. These listeners give them the API's error shape, `{error, code}`, with a stable code
 * per case. `Expect: 100-continue` keeps Node's default (`checkContinue` is not handled here).
 */

interface ParserAnswer {
  readonly status: number
  readonly statusText: string
  readonly body: ErrorBody
}

const BAD_REQUEST: ParserAnswer = {
  status: 400,
  statusText: 'Bad Request',
  body: { error: 'the request is not valid HTTP/1.1', code: 'bad_request' }
}

// Node's parser error codes (llhttp `HPE_*`, and the server's own timeout) and the answers Node
// gives them by default; every other code is a 400.
const BY_CODE: Readonly<Record<string, ParserAnswer>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    statusText: 'Request Header Fields Too Large',
    body: {
      error: `the request line and headers must be at most ${maxHeaderSize} bytes`,
      code: 'headers_too_large',
      limit_bytes: maxHeaderSize
    }
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    statusText: 'Payload Too Large',
    body: { error: 'chunk extensions of the body are too large', code: 'chunk_extensions_too_large' }
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    statusText: 'Request Timeout',
    body: { error: 'the request did not arrive in time', code: 'request_timeout' }
  }
}

// The client has already gone: there is nobody to answer.
const CLIENT_GONE_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE'])

const EXPECTATION_FAILED: ErrorBody = {
  error: 'the only expectation this server meets is Expect: 100-continue',
  code: 'expectation_failed'
}

/** The answer Node's parser error `code` gets. */
export function parserErrorAnswer(code: string | undefined): ParserAnswer {
  return (code !== undefined && BY_CODE[code]) || BAD_REQUEST
}

/** Answers parser errors (`clientError`) and unmet `Expect` headers (`checkExpectation`) on `server`. */
export function answerParserErrors(server: Server, logger: Logger): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if ((err.code !== undefined && CLIENT_GONE_CODES.has(err.code)) || !socket.writable) {
      logger.debug({ reason: CLIENT_CLOSED, code: err.code }, 'client closed the connection mid-request')
      socket.destroy()
      return
    }
    const answer = parserErrorAnswer(err.code)
    logger.debug({ reason: answer.body.code, code: err.code }, 'HTTP parser refused a request')
    // As Node's default handler does: answer only if no response on this connection has started,
    // or the error would be spliced into the middle of it (`_httpMessage` is Node's own field).
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage
    if (!inFlight?.headersSent) socket.write(rawResponse(answer))
    socket.destroy()
  })
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    logger.debug({ reason: EXPECTATION_FAILED.code }, 'refused an unmet Expect header')
    const body = JSON.stringify(EXPECTATION_FAILED)
    // The client may send its body anyway; closing keeps it from being read as the next request.
    res.writeHead(417, { ...jsonHeaders(body), Connection: 'close' })
    res.end(body)
    req.resume()
  })
}

function jsonHeaders(body: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff'
  }
}

function rawResponse(answer: ParserAnswer): string {
  const body = JSON.stringify(answer.body)
  const headers = Object.entries({ ...jsonHeaders(body), Connection: 'close' })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  return `HTTP/1.1 ${answer.status} ${answer.statusText}\r\n${headers}\r\n${body}`
}
