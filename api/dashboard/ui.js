// Small pieces every view uses: the template tag, the live-event bus, a loader hook, badges, formats.
import htm from 'htm'
import { h } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { api } from './api.js'

export const html = htm.bind(h)

const subscribers = new Set()

/** Hands one event of the feed to every view that listens. */
export function publish(event) {
  for (const subscriber of subscribers) subscriber(event)
}

/** Calls `listener` for each live event whose type starts with one of `prefixes`. */
export function useEvents(prefixes, listener) {
  const ref = useRef(listener)
  ref.current = listener
  const key = prefixes.join(',')
  useEffect(() => {
    const wanted = key.split(',').filter((p) => p !== '')
    const subscriber = (event) => {
      if (wanted.some((p) => event.type.startsWith(p))) ref.current(event)
    }
    subscribers.add(subscriber)
    return () => subscribers.delete(subscriber)
  }, [key])
}

// Live events come in bursts (a share is accepted, delivered, sent, confirmed within a second).
const REFRESH_DEBOUNCE_MS = 250

/**
 * Loads `path` (a string or a function of nothing), again every `everyMs` when given and shortly
 * after live events of the types in `refreshOn`. Returns the data, the last error and a reload.
 */
export function useApi(path, { everyMs, refreshOn = [], accept = [] } = {}) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true })
  const timer = useRef(undefined)
  const acceptKey = accept.join(',')
  const load = useCallback(async () => {
    if (path === null) return
    try {
      const accepted = acceptKey === '' ? [] : acceptKey.split(',').map(Number)
      const data = await api(path, { accept: accepted })
      setState({ data, error: null, loading: false })
    } catch (error) {
      setState((s) => ({ data: s.data, error, loading: false }))
    }
  }, [path, acceptKey])
  useEffect(() => {
    load()
    if (!everyMs) return undefined
    const interval = setInterval(load, everyMs)
    return () => clearInterval(interval)
  }, [load, everyMs])
  useEffect(() => () => clearTimeout(timer.current), [])
  useEvents(refreshOn, () => {
    clearTimeout(timer.current)
    timer.current = setTimeout(load, REFRESH_DEBOUNCE_MS)
  })
  return { ...state, reload: load }
}

const GOOD = new Set(['up', 'healthy', 'delivered', 'confirmed', 'recorded', 'active', 'received', 'ca'])
const WARN = new Set([
  'degraded',
  'queued',
  'sent',
  'pending',
  'delivering',
  'paused',
  'unresolved',
  'pinned',
  'allowlisted'
])
const BAD = new Set(['down', 'unhealthy', 'failed', 'denied', 'unknown'])

export function Badge({ value, title, tone: given }) {
  const text = value === true ? 'yes' : value === false ? 'no' : String(value ?? '—')
  const tone =
    given ??
    (value === true || GOOD.has(text)
      ? 'good'
      : value === false || BAD.has(text)
        ? 'bad'
        : WARN.has(text)
          ? 'warn'
          : 'plain')
  return html`<span class=${`badge ${tone}`} title=${title ?? text}>${text}</span>`
}

/** A long identifier cut in the middle, whole in its title; `mono` style. */
export function Id({ value, keep = 8 }) {
  if (value === null || value === undefined) return html`<span class="muted">—</span>`
  const text = String(value)
  const shown = text.length > keep * 2 + 1 ? `${text.slice(0, keep)}…${text.slice(-keep)}` : text
  return html`<code class="id" title=${text}>${shown}</code>`
}

export function ago(when) {
  if (when === null || when === undefined) return '—'
  const at = typeof when === 'number' ? when : Date.parse(when)
  const seconds = Math.round((Date.now() - at) / 1000)
  if (seconds < 5) return 'just now'
  if (seconds < 90) return `${seconds} s ago`
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 129_600) return `${Math.round(seconds / 3600)} h ago`
  return new Date(at).toISOString().slice(0, 16).replace('T', ' ')
}

export function Time({ value }) {
  if (value === null || value === undefined) return html`<span class="muted">—</span>`
  const iso = new Date(typeof value === 'number' ? value : Date.parse(value)).toISOString()
  return html`<time datetime=${iso} title=${iso}>${ago(value)}</time>`
}

export function ErrorNote({ error }) {
  if (!error) return null
  return html`<p class="error" role="alert">${error.message}${error.code ? ` (${error.code})` : ''}</p>`
}

export function Card({ title, actions, children, id }) {
  return html`<section class="card" id=${id}>
    <header><h2>${title}</h2>${actions ? html`<div class="actions">${actions}</div>` : null}</header>
    ${children}
  </section>`
}

/** Key-value rows of an object's fields (nested objects as JSON). */
export function Fields({ value }) {
  if (!value) return null
  return html`<dl class="fields">
    ${Object.entries(value).map(
      ([k, v]) =>
        html`<dt>${k}</dt><dd>${v !== null && typeof v === 'object' ? html`<code>${JSON.stringify(v)}</code>` : String(v ?? '—')}</dd>`
    )}
  </dl>`
}
