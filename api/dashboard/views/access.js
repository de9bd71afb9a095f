// API keys and webhook subscriptions: create (the secret is shown here once), revoke, pause, resume, delete.
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { Badge, Card, ErrorNote, html, Time, useApi } from '../ui.js'

const SCOPES = ['share', 'read', 'admin']

function Secret({ label, value }) {
  if (!value) return null
  return html`<div class="secret" data-testid="secret">
    <p>${label} (shown once, copy it now):</p><code>${value}</code>
  </div>`
}

function ApiKeys() {
  const keys = useApi('/api-keys', { refreshOn: ['security.api_key.'] })
  const [form, setForm] = useState({ name: '', scopes: ['read'], expires_at: '' })
  const [created, setCreated] = useState(null)
  const [error, setError] = useState(null)
  const toggle = (scope) =>
    setForm((f) => ({
      ...f,
      scopes: f.scopes.includes(scope) ? f.scopes.filter((s) => s !== scope) : [...f.scopes, scope]
    }))
  const create = async (e) => {
    e.preventDefault()
    setError(null)
    try {
      const body = { name: form.name, scopes: form.scopes }
      if (form.expires_at) body.expires_at = new Date(form.expires_at).toISOString()
      const r = await api('/api-keys', { method: 'POST', body })
      setCreated(r.key)
      setForm({ name: '', scopes: ['read'], expires_at: '' })
      keys.reload()
    } catch (err) {
      setError(err)
    }
  }
  const revoke = async (id) => {
    if (!confirm(`Revoke API key ${id}?`)) return
    try {
      await api(`/api-keys/${id}`, { method: 'DELETE' })
      keys.reload()
    } catch (err) {
      setError(err)
    }
  }
  const list = keys.data?.api_keys ?? []
  return html`<${Card} title=${`API keys (${list.length})`} id="api-keys">
    <form class="inline" onSubmit=${create} data-testid="create-api-key">
      <label>name <input name="key-name" value=${form.name} required maxlength="100"
        onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} /></label>
      ${SCOPES.map(
        (
          s
        ) => html`<label class="check"><input type="checkbox" name=${`scope-${s}`} checked=${form.scopes.includes(s)}
          onChange=${() => toggle(s)} /> ${s}</label>`
      )}
      <label>expires <input type="datetime-local" name="expires" value=${form.expires_at}
        onInput=${(e) => setForm({ ...form, expires_at: e.currentTarget.value })} /></label>
      <button type="submit">Create key</button>
    </form>
    <${Secret} label="New API key" value=${created} />
    <${ErrorNote} error=${keys.error ?? error} />
    <table class="grid" data-testid="api-keys">
      <thead><tr><th>id</th><th>name</th><th>scopes</th><th>created</th><th>expires</th><th>last used</th>
        <th>state</th><th></th></tr></thead>
      <tbody>
        ${list.map(
          (k) => html`<tr data-key=${k.id} data-name=${k.name}>
            <td><code>${k.id}</code></td><td>${k.name}</td><td>${k.scopes.join(', ')}</td>
            <td><${Time} value=${k.created_at} /></td><td>${k.expires_at ? html`<${Time} value=${k.expires_at} />` : 'never'}</td>
            <td><${Time} value=${k.last_used_at} /></td>
            <td><${Badge} value=${k.revoked_at ? 'revoked' : 'active'} /></td>
            <td>${k.revoked_at ? null : html`<button type="button" class="danger" onClick=${() => revoke(k.id)}>revoke</button>`}</td>
          </tr>`
        )}
      </tbody>
    </table>
  <//>`
}

function Webhooks() {
  const hooks = useApi('/webhooks', { everyMs: 5_000, refreshOn: ['security.config.'] })
  const [form, setForm] = useState({ url: '', event_types: '' })
  const [created, setCreated] = useState(null)
  const [error, setError] = useState(null)
  const create = async (e) => {
    e.preventDefault()
    setError(null)
    try {
      const types = form.event_types
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '')
      const r = await api('/webhooks', { method: 'POST', body: { url: form.url, event_types: types } })
      setCreated(r.secret)
      setForm({ url: '', event_types: '' })
      hooks.reload()
    } catch (err) {
      setError(err)
    }
  }
  const act = async (id, action) => {
    if (action === 'delete' && !confirm(`Delete webhook ${id}?`)) return
    try {
      setError(null)
      await api(action === 'delete' ? `/webhooks/${id}` : `/webhooks/${id}/${action}`, {
        method: action === 'delete' ? 'DELETE' : 'POST'
      })
      hooks.reload()
    } catch (err) {
      setError(err)
    }
  }
  const list = hooks.data?.webhooks ?? []
  return html`<${Card} title=${`Webhook subscriptions (${list.length})`} id="webhooks">
    <form class="inline" onSubmit=${create} data-testid="create-webhook">
      <label>URL <input type="url" name="webhook-url" value=${form.url} required placeholder="https://app.example/hooks/dmn"
        onInput=${(e) => setForm({ ...form, url: e.currentTarget.value })} /></label>
      <label>event types <input name="webhook-types" value=${form.event_types} placeholder="share., audit.confirmed (all when empty)"
        onInput=${(e) => setForm({ ...form, event_types: e.currentTarget.value })} /></label>
      <button type="submit">Subscribe</button>
    </form>
    <${Secret} label="Signing secret" value=${created} />
    <${ErrorNote} error=${hooks.error ?? error} />
    <table class="grid" data-testid="webhooks">
      <thead><tr><th>id</th><th>URL</th><th>events</th><th>state</th><th>cursor</th><th>attempts</th>
        <th>last error</th><th>last delivered</th><th></th></tr></thead>
      <tbody>
        ${list.map(
          (w) => html`<tr data-webhook=${w.id}>
            <td><code>${w.id}</code></td><td class="small">${w.url}</td>
            <td>${w.event_types.length ? w.event_types.join(', ') : 'all'}</td>
            <td><${Badge} value=${w.state} /></td><td class="num">${w.cursor}</td><td class="num">${w.attempts}</td>
            <td class="small">${w.last_error ?? '—'}</td><td><${Time} value=${w.last_delivered_at} /></td>
            <td class="row-actions">
              ${w.state === 'active' ? html`<button type="button" onClick=${() => act(w.id, 'pause')}>pause</button>` : html`<button type="button" onClick=${() => act(w.id, 'resume')}>resume</button>`}
              <button type="button" class="danger" onClick=${() => act(w.id, 'delete')}>delete</button>
            </td>
          </tr>`
        )}
      </tbody>
    </table>
  <//>`
}

export function AccessView() {
  return html`<div class="page" data-testid="page-access"><${ApiKeys} /><${Webhooks} /></div>`
}
