// The internal API as the dashboard calls it: same origin, the operator's key (when the API needs one)
// in X-API-Key, JSON both ways. The key lives in sessionStorage: gone when the tab closes.

const KEY_STORAGE = 'dmn.dashboard.api_key'
const listeners = new Set()

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.code = body?.code ?? null
    this.body = body
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? ''
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key)
  else sessionStorage.removeItem(KEY_STORAGE)
}

/** Called with every 401 the API answers: the page then asks for a key. */
export function onUnauthorized(listener) {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

function headers(extra = {}) {
  const h = { accept: 'application/json', ...extra }
  const key = apiKey()
  if (key) h['x-api-key'] = key
  return h
}

/**
 * Calls the API and returns its JSON. A state-changing call always says application/json (the
 * browser guard refuses anything else). `accept` lists further statuses whose body is an answer
 * (`/health` says 503 with a report).
 */
export async function api(path, { method = 'GET', body, accept = [], signal } = {}) {
  const init = {
    method,
    headers: headers(method === 'GET' ? {} : { 'content-type': 'application/json' }),
    credentials: 'omit',
    cache: 'no-store',
    signal
  }
  if (body !== undefined) init.body = JSON.stringify(body)
  const res = await fetch(path, init)
  const text = await res.text()
  let data = null
  try {
    data = text === '' ? null : JSON.parse(text)
  } catch {
    data = { error: text.slice(0, 200) }
  }
  if (res.ok || accept.includes(res.status)) return data
  if (res.status === 401) for (const listener of listeners) listener()
  throw new ApiError(res.status, data)
}

// How far back the feed starts when it first connects.
const BACKLOG = 100
const RETRY_MS = [1_000, 2_000, 5_000]

/**
 * Follows `GET /events`. EventSource cannot send X-API-Key, so this reads the stream with fetch and
 * parses Server-Sent Events itself; on a lost connection it comes back with Last-Event-ID, so no
 * event is missed or repeated. The first connection asks only where the log ends, then reconnects
 * `BACKLOG` events back from there.
 */
export function followEvents({ onEvent, onState, signal }) {
  let lastId = null
  let failures = 0
  const run = async () => {
    while (!signal.aborted) {
      const attempt = new AbortController()
      const stop = () => attempt.abort()
      signal.addEventListener('abort', stop, { once: true })
      let backlogFrom = null
      try {
        const extra = { accept: 'text/event-stream' }
        if (lastId !== null) extra['last-event-id'] = String(lastId)
        const res = await fetch('/events', {
          headers: headers(extra),
          credentials: 'omit',
          cache: 'no-store',
          signal: attempt.signal
        })
        if (res.status === 401) for (const listener of listeners) listener()
        if (!res.ok || !res.body) throw new ApiError(res.status, null)
        onState('live')
        failures = 0
        for await (const message of messages(res.body)) {
          if (message.event === 'ready') {
            const ready = JSON.parse(message.data)
            if (lastId === null) {
              backlogFrom = Math.max(0, ready.latest_id - BACKLOG)
              break
            }
            continue
          }
          if (message.id !== undefined) lastId = Number(message.id)
          if (message.event === 'expired') continue
          onEvent(JSON.parse(message.data))
        }
      } catch (err) {
        if (signal.aborted) return
        onState(err instanceof ApiError && err.status === 401 ? 'unauthorized' : 'reconnecting')
        failures += 1
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS[Math.min(failures, RETRY_MS.length) - 1]))
      } finally {
        signal.removeEventListener('abort', stop)
        attempt.abort()
      }
      if (backlogFrom !== null) lastId = backlogFrom
    }
  }
  run()
}

/** The messages of an SSE body (WHATWG HTML, "Server-sent events": fields per line, blank line ends one). */
async function* messages(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value.replace(/\r\n?/g, '\n')
      let end = buffer.indexOf('\n\n')
      while (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const message = parse(block)
        if (message) yield message
        end = buffer.indexOf('\n\n')
      }
    }
  } finally {
    reader.releaseLock()
  }
}

function parse(block) {
  const message = { event: 'message', data: '' }
  let hasData = false
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') message.event = value
    else if (field === 'id') message.id = value
    else if (field === 'data') {
      message.data = hasData ? `${message.data}\n${value}` : value
      hasData = true
    }
  }
  return hasData || message.event !== 'message' ? message : null
}
