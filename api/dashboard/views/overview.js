// The node: who it is, how each component is, how far the audit publisher lags.
import { Badge, Card, ErrorNote, Fields, html, Id, useApi } from '../ui.js'

function Components({ health }) {
  const components = Object.entries(health.data?.components ?? {})
  return html`<table class="grid" data-testid="health-components">
    <thead><tr><th>component</th><th>status</th><th>detail</th></tr></thead>
    <tbody>
      ${components.map(
        ([name, c]) => html`<tr data-component=${name}>
          <td>${name}</td><td><${Badge} value=${c.status} /></td>
          <td>${c.detail ? html`<${Fields} value=${c.detail} />` : html`<span class="muted">—</span>`}</td>
        </tr>`
      )}
    </tbody>
  </table>`
}

export function OverviewView({ health, identity }) {
  const audit = useApi('/audit/status', { everyMs: 5_000, refreshOn: ['audit.'] })
  const id = identity.data
  return html`<div class="page" data-testid="page-overview">
    <${Card} title="Identity">
      <${ErrorNote} error=${identity.error} />
      ${
        id
          ? html`<dl class="fields">
            <dt>PeerId</dt><dd><code data-testid="peer-id">${id.peer_id}</code></dd>
            <dt>Ethereum account</dt><dd><code>${id.eth_address ?? '—'}</code></dd>
            <dt>signing key</dt><dd><${Id} value=${id.signing_key_fingerprint} keep=${16} /></dd>
            <dt>encryption key</dt><dd><${Id} value=${id.encryption_key_fingerprint} keep=${16} /></dd>
            <dt>listen addresses</dt><dd>${id.addresses.map((a) => html`<div><code>${a}</code></div>`)}</dd>
          </dl>`
          : null
      }
    <//>
    <${Card} title="Health" actions=${html`<${Badge} value=${health.data?.status} />`}>
      <${ErrorNote} error=${health.error} />
      <${Components} health=${health} />
      <p class="muted">version ${health.data?.version ?? '—'}</p>
    <//>
    <${Card} title="Audit publisher">
      <${ErrorNote} error=${audit.error} />
      ${
        audit.data
          ? html`<div class="stats" data-testid="publisher">
            <div><span>lag</span><strong>${audit.data.lag_seconds.toFixed(1)} s</strong></div>
            <div><span>pending</span><strong>${audit.data.pending}</strong></div>
            <div><span>sent</span><strong>${audit.data.sent}</strong></div>
            <div><span>failed</span><strong>${audit.data.failed}</strong></div>
            <div><span>latest block</span><strong>${audit.data.latest_block ?? '—'}</strong></div>
            <div><span>chain id</span><strong>${audit.data.chain_id ?? '—'}</strong></div>
          </div>
          <p>contract <code>${audit.data.contract_address ?? '—'}</code></p>`
          : null
      }
    <//>
  </div>`
}
