import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { type WebhookEvent, webhookBody, webhookMessageId } from '../core/webhooks.ts'
import {
  guardedLookup,
  type OwnApis,
  parseWebhookUrl,
  refuseOwnApi,
  type Resolver,
  urlHostname,
  urlPort
} from './url-guard.ts'

/**
 * One delivery attempt: POST the event to the subscription's URL, signed as Standard Webhooks
 * says (`webhook-id`, `webhook-timestamp`, `webhook-signature` from the `standardwebhooks`
 * package). Redirects are not followed (a 3xx is a failure), the whole exchange is bounded by
 * `timeoutMs`, and the connection goes only to addresses the URL guard checked.
 */

export interface SendInput {
  readonly url: string
  /** `whsec_` + base64. */
  readonly secret: string
  readonly event: WebhookEvent
  readonly timeoutMs: number
  readonly own: OwnApis
  readonly resolve?: Resolver
  /** Aborts the attempt (the node is stopping). */
  readonly signal?: AbortSignal
  /** The signing time (tests). */
  readonly now?: Date
}

/**
 * Why an attempt failed, in a few fixed words (the metrics' label): the URL was refused, no answer
 * in time, the node stopping, a non-2xx answer, or the connection failed.
 */
export type SendFailure = 'url_refused' | 'timeout' | 'aborted' | 'http_status' | 'connection'

export type SendResult =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly error: string; readonly reason: SendFailure }

export type WebhookSender = (input: SendInput) => Promise<SendResult>

const USER_AGENT = 'dmn-webhooks/1'

/** Sends one attempt; never throws: every failure is a result with its reason. */
export const sendWebhook: WebhookSender = async (input) => {
  let url: URL
  try {
    url = parseWebhookUrl(input.url)
    const host = urlHostname(url)
    // An IP literal needs no lookup, so the guard inside the lookup would not run.
    if (isIP(host)) refuseOwnApi(host, [host], urlPort(url), input.own)
  } catch (err) {
    return { ok: false, error: (err as Error).message, reason: 'url_refused' }
  }
  const body = webhookBody(input.event)
  const id = webhookMessageId(input.event.id)
  const now = input.now ?? new Date()
  const signature = new Webhook(input.secret).sign(id, now, body)
  const timeout = AbortSignal.timeout(input.timeoutMs)
  const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<SendResult>((resolve) => {
    let settled = false
    const settle = (result: SendResult) => {
      if (settled) return
      settled = true
      resolve(result)
    }
    const failure = (err: Error): SendResult => {
      if (timeout.aborted) {
        return { ok: false, error: `no answer within ${input.timeoutMs} ms`, reason: 'timeout' }
      }
      if (input.signal?.aborted)
        return { ok: false, error: 'aborted: the node is stopping', reason: 'aborted' }
      const code = (err as NodeJS.ErrnoException).code
      return {
        ok: false,
        error: code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message,
        // The URL guard refuses inside the connection's address lookup.
        reason: err.name === 'WebhookUrlRefusedError' ? 'url_refused' : 'connection'
      }
    }
    const req = request(
      url,
      {
        method: 'POST',
        // A fresh connection per attempt: the guarded lookup runs for every delivery.
        agent: false,
        lookup: guardedLookup(urlPort(url), input.own, input.resolve) as never,
        signal,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': USER_AGENT,
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signature
        }
      },
      (res) => {
        const status = res.statusCode ?? 0
        // The answer's body means nothing to the node; it is read (and dropped) so the exchange ends.
        res.resume()
        res.on('end', () =>
          settle(
            status >= 200 && status < 300
              ? { ok: true, status }
              : { ok: false, error: `HTTP ${status}`, reason: 'http_status' }
          )
        )
        res.on('error', (err) => settle(failure(err)))
        res.on('close', () => settle(failure(new Error('connection closed before the answer ended'))))
      }
    )
    req.on('error', (err) => settle(failure(err)))
    // Whatever the socket does once aborted (a body still trickling in), the attempt ends here.
    signal.addEventListener('abort', () => settle(failure(new Error('aborted'))), { once: true })
    req.end(body)
  })
}
