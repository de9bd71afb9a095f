// The live event feed: the newest events of the node's log, as /events streams them.
import { useState } from 'preact/hooks'
import { Badge, Card, html, Id, Time } from '../ui.js'

const SUBJECT = ['share_id', 'peer_id', 'tx_hash', 'key_id', 'webhook_id', 'data_hash']

function summary(data) {
  if (!data) return null
  const parts = []
  for (const field of SUBJECT) {
    if (data[field]) parts.push(html`<span class="kv">${field} <${Id} value=${data[field]} /></span>`)
  }
  for (const field of [
    'state',
    'trust',
    'protocol',
    'error',
    'reason',
    'code',
    'change',
    'last_error',
    'path'
  ]) {
    if (data[field] !== undefined && data[field] !== null)
      parts.push(html`<span class="kv">${field} <b>${String(data[field])}</b></span>`)
  }
  return parts
}

function tone(type) {
  if (/failed|refused|reset|failure/.test(type)) return 'bad'
  if (/delivered|confirmed|received|verified/.test(type)) return 'good'
  return 'warn'
}

export function EventsView({ feed }) {
  const [filter, setFilter] = useState('')
  const prefixes = filter
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
  const shown = prefixes.length ? feed.filter((e) => prefixes.some((p) => e.type.startsWith(p))) : feed
  return html`<div class="page" data-testid="page-events">
    <${Card} title=${`Live events (${shown.length})`} actions=${html`<label>types
        <input type="search" name="types" placeholder="share., audit." value=${filter}
          onInput=${(e) => setFilter(e.currentTarget.value)} /></label>`}>
      <table class="grid" data-testid="events">
        <thead><tr><th>id</th><th>when</th><th>type</th><th>about</th></tr></thead>
        <tbody>
          ${shown.map(
            (e) => html`<tr data-event=${e.id} data-type=${e.type}>
              <td class="num">${e.id}</td><td><${Time} value=${e.at} /></td>
              <td><${Badge} value=${e.type} tone=${tone(e.type)} /></td>
              <td class="about">${summary(e.data)}</td>
            </tr>`
          )}
        </tbody>
      </table>
      ${shown.length === 0 ? html`<p class="muted">Waiting for events…</p>` : null}
    <//>
  </div>`
}
