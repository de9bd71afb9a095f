// Shares in and out: filterable; each opens to its evidence bundle and what the chain verifies.
import { useState } from 'preact/hooks'
import { Badge, Card, ErrorNote, Fields, html, Id, Time, useApi } from '../ui.js'

const DELIVERY = ['unresolved', 'queued', 'delivering', 'delivered', 'failed', 'received']
const AUDIT = ['pending', 'sent', 'recorded', 'confirmed', 'failed']
const LIMIT = 500

function Select({ label, value, options, onChange, name }) {
  return html`<label>${label}
    <select name=${name} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      <option value="">all</option>
      ${options.map((o) => html`<option value=${o}>${o}</option>`)}
    </select>
  </label>`
}

function matches(share, filter) {
  if (filter.direction && share.direction !== filter.direction) return false
  if (filter.audit && share.status.audit !== filter.audit) return false
  const text = filter.text.trim().toLowerCase()
  if (text === '') return true
  return [share.id, share.data_hash, share.sender, share.recipient, share.recipient_label, share.tx_hash]
    .filter(Boolean)
    .some((v) => v.toLowerCase().includes(text))
}

function ShareList() {
  const [filter, setFilter] = useState({ direction: '', delivery: '', audit: '', text: '' })
  const set = (field) => (value) => setFilter((f) => ({ ...f, [field]: value }))
  const query = `/shares?limit=${LIMIT}${filter.delivery ? `&state=${filter.delivery}` : ''}`
  const shares = useApi(query, { everyMs: 10_000, refreshOn: ['share.', 'audit.'] })
  const all = shares.data?.shares ?? []
  const shown = all.filter((s) => matches(s, filter))
  return html`<div class="page" data-testid="page-shares">
    <${Card} title=${`Shares (${shown.length} of ${all.length})`}>
      <form class="filters" onSubmit=${(e) => e.preventDefault()}>
        <${Select} label="direction" name="direction" value=${filter.direction} options=${['out', 'in']} onChange=${set('direction')} />
        <${Select} label="delivery" name="delivery" value=${filter.delivery} options=${DELIVERY} onChange=${set('delivery')} />
        <${Select} label="audit" name="audit" value=${filter.audit} options=${AUDIT} onChange=${set('audit')} />
        <label>search <input type="search" name="search" placeholder="share id, hash, peer, tx"
          value=${filter.text} onInput=${(e) => set('text')(e.currentTarget.value)} /></label>
      </form>
      <${ErrorNote} error=${shares.error} />
      <table class="grid" data-testid="shares">
        <thead><tr><th>share</th><th>dir</th><th>data hash</th><th>peer</th><th>tier</th>
          <th>delivery</th><th>audit</th><th>attempts</th><th>created</th></tr></thead>
        <tbody>
          ${shown.map(
            (s) => html`<tr data-share=${s.id}>
              <td><a href=${`#/shares/${s.id}`}><${Id} value=${s.id} /></a></td>
              <td>${s.direction === 'out' ? '→ out' : '← in'}</td>
              <td><${Id} value=${s.data_hash} /></td>
              <td><${Id} value=${s.direction === 'out' ? s.recipient_label : s.sender} /></td>
              <td>${s.security_tier}</td>
              <td><${Badge} value=${s.status.delivery} title=${s.last_error ?? s.status.delivery} /></td>
              <td><${Badge} value=${s.status.audit} /></td>
              <td class="num">${s.attempts}</td>
              <td><${Time} value=${s.created_at} /></td>
            </tr>`
          )}
        </tbody>
      </table>
      ${shown.length === 0 ? html`<p class="muted">No shares match.</p>` : null}
    <//>
  </div>`
}

function Verification({ hash }) {
  const v = useApi(`/audit/${hash}/verify`, { refreshOn: ['audit.', 'share.'] })
  const r = v.data
  return html`<${Card} title="Verification on chain" id="verification"
      actions=${r ? html`<${Badge} value=${r.verified ? 'verified' : 'not verified'} tone=${r.verified ? 'good' : 'bad'} />` : null}>
    <${ErrorNote} error=${v.error} />
    ${
      r
        ? html`<div data-testid="verification" data-verified=${String(r.verified)}>
          <${Fields} value=${{ verified: r.verified, reason: r.reason, event_type: r.event_type }} />
          ${r.evidence ? html`<h3>Evidence</h3><${Fields} value=${r.evidence} />` : null}
          ${
            r.shares.length > 0
              ? html`<h3>Shares of this hash on chain</h3>
                <table class="grid"><thead><tr><th>share</th><th>sender</th><th>recipient</th><th>tier</th>
                  <th>verified</th><th>confirmations</th><th>reason</th></tr></thead>
                <tbody>${r.shares.map(
                  (s) => html`<tr><td><${Id} value=${s.share_id} /></td><td><${Id} value=${s.sender} /></td>
                    <td><${Id} value=${s.recipient} /></td><td>${s.tier}</td><td><${Badge} value=${s.verified} /></td>
                    <td class="num">${s.confirmations}</td><td>${s.reason ?? '—'}</td></tr>`
                )}</tbody></table>`
              : null
          }
          ${r.refused.length > 0 ? html`<h3>Refused events</h3><pre>${JSON.stringify(r.refused, null, 2)}</pre>` : null}
        </div>`
        : html`<p class="muted">Asking the chain…</p>`
    }
  <//>`
}

function Bundle({ hash }) {
  const bundle = useApi(`/audit/${hash}/bundle`, { refreshOn: ['audit.'] })
  const missing = bundle.error?.status === 404
  return html`<${Card} title="Evidence bundle" id="bundle">
    ${missing ? html`<p class="muted">No evidence yet: the share's audit event is not on chain.</p>` : html`<${ErrorNote} error=${bundle.error} />`}
    ${
      bundle.data && !missing
        ? html`<details open><summary>JSON, checkable without this node: <code>dmn audit check FILE --rpc URL</code></summary>
          <pre data-testid="bundle">${JSON.stringify(bundle.data, null, 2)}</pre></details>`
        : null
    }
  <//>`
}

function ShareDetail({ shareId }) {
  const share = useApi(`/shares/${shareId}`, { refreshOn: ['share.', 'audit.'] })
  const s = share.data?.share
  const fields = s
    ? (({ status, ...rest }) => ({ ...rest, delivery: status.delivery, audit: status.audit }))(s)
    : null
  return html`<div class="page" data-testid="page-share">
    <p><a href="#/shares">← all shares</a></p>
    <${Card} title=${html`Share <code>${shareId}</code>`}
        actions=${s ? html`<${Badge} value=${s.status.delivery} /> <${Badge} value=${s.status.audit} />` : null}>
      <${ErrorNote} error=${share.error} />
      ${s ? html`<div data-testid="share-detail"><${Fields} value=${fields} /></div>` : null}
    <//>
    ${s ? html`<${Verification} hash=${s.data_hash} /><${Bundle} hash=${s.data_hash} />` : null}
  </div>`
}

export function SharesView({ args }) {
  return args[0] ? html`<${ShareDetail} shareId=${args[0]} />` : html`<${ShareList} />`
}
