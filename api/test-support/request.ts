import type { OpenAPIHono } from '@hono/zod-openapi'
import type { ApiEnv } from '../context.ts'

export interface SendOptions {
  readonly method?: string
  /** Sent as JSON unless a string (sent as is). */
  readonly body?: unknown
  readonly key?: string
  /** The socket peer address the app sees. */
  readonly remote?: string
  readonly headers?: Record<string, string>
}

/** `app.request()` with a JSON body, an API key and a socket address, as node-server would give them. */
export async function send(app: OpenAPIHono<ApiEnv>, path: string, options: SendOptions = {}) {
  // The Host a client of app.request()'s http://localhost/ sends; node-server passes it on.
  const headers: Record<string, string> = { host: 'localhost', ...options.headers }
  if (options.key !== undefined) headers['x-api-key'] = options.key
  let body: string | undefined
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    headers['content-type'] ??= 'application/json'
  }
  const env = { incoming: { socket: { remoteAddress: options.remote ?? '203.0.113.7' } } }
  const res = await app.request(
    path,
    {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body !== undefined ? { body } : {})
    },
    env as never
  )
  const text = await res.text()
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, json: json ?? {}, text }
}
