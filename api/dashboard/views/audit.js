// The audit outbox: events waiting for or done with the chain; a failed one can be queued again.
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { Badge, Card, ErrorNote, html, Id, Time, useApi } from '../ui.js'

const STATES = ['pending', 'sent', 'confirmed', 'failed']

export function AuditView() {
  const [state, setState] = useState('')
  const status = useApi('/audit/status', { everyMs: 5_000, refreshOn: ['audit.'] })
  const outbox = useApi(`/outbox?limit=200${state ? `&state=${state}` : ''}`, {
    everyMs: 5_000,
    refreshOn: ['audit.', 'share.']
  })
  const [error, setError] = useState(null)
  const retry = async (id) => {
    try {
      setError(null)
      await api(`/outbox/${id}/retry`, { method: 'POST' })
      outbox.reload()
    } catch (err) {
      setError(err)
    }
  }
  const s = status.data
  const entries = outbox.data?.entries ?? []
  return html`<div class="page" data-testid="page-audit">
    <${Card} title="Publisher">
      <${ErrorNote} error=${status.error} />
      ${
        s
          ? html`<div class="stats">
            <div><span>lag</span><strong data-testid="lag">${s.lag_seconds.toFixed(1)} s</strong></div>
            <div><span>pending</span><strong>${s.pending}</strong></div>
            <div><span>sent</span><strong>${s.sent}</strong></div>
            <div><span>failed</span><strong>${s.failed}</strong></div>
            <div><span>latest block</span><strong>${s.latest_block ?? '—'}</strong></div>
          </div>`
          : null
      }
    <//>
    <${Card} title=${`Outbox (${entries.length})`} actions=${html`<label>state
        <select name="outbox-state" value=${state} onChange=${(e) => setState(e.currentTarget.value)}>
          <option value="">all</option>${STATES.map((o) => html`<option value=${o}>${o}</option>`)}
        </select></label>`}>
      <${ErrorNote} error=${outbox.error ?? error} />
      <table class="grid" data-testid="outbox">
        <thead><tr><th>id</th><th>kind</th><th>share</th><th>state</th><th>transaction</th>
          <th>attempts</th><th>last error</th><th>updated</th><th></th></tr></thead>
        <tbody>
          ${entries.map(
            (e) => html`<tr data-outbox=${e.id}>
              <td class="num">${e.id}</td><td>${e.kind}</td>
              <td>${e.share_id ? html`<a href=${`#/shares/${e.share_id}`}><${Id} value=${e.share_id} /></a>` : '—'}</td>
              <td><${Badge} value=${e.state} /></td><td><${Id} value=${e.tx_hash} /></td>
              <td class="num">${e.attempts}</td><td class="small">${e.last_error ?? '—'}</td>
              <td><${Time} value=${e.updated_at} /></td>
              <td>${e.state === 'failed' ? html`<button type="button" onClick=${() => retry(e.id)}>retry</button>` : null}</td>
            </tr>`
          )}
        </tbody>
      </table>
    <//>
  </div>`
}
