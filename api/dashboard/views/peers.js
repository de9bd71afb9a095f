// Peers: trust, health and latency, with allow and deny.
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { Badge, Card, ErrorNote, html, Id, Time, useApi } from '../ui.js'

export function PeersView() {
  const peers = useApi('/peers', { everyMs: 5_000, refreshOn: ['peer.'] })
  const [error, setError] = useState(null)
  const act = async (peerId, action) => {
    if (action === 'deny' && !confirm(`Deny ${peerId} and close its connections?`)) return
    try {
      setError(null)
      await api(`/peers/${peerId}/${action}`, { method: 'POST' })
      peers.reload()
    } catch (err) {
      setError(err)
    }
  }
  const list = peers.data?.peers ?? []
  return html`<div class="page" data-testid="page-peers">
    <${Card} title=${`Peers (${list.length})`}>
      <${ErrorNote} error=${peers.error ?? error} />
      <table class="grid" data-testid="peers">
        <thead><tr><th>PeerId</th><th>trust</th><th>status</th><th>connected</th><th>healthy</th>
          <th>latency</th><th>last seen</th><th>Ethereum account</th><th>addresses</th><th></th></tr></thead>
        <tbody>
          ${list.map(
            (p) => html`<tr data-peer=${p.peer_id}>
              <td><${Id} value=${p.peer_id} /></td>
              <td><${Badge} value=${p.trust} /></td>
              <td><${Badge} value=${p.status} /></td>
              <td><${Badge} value=${p.connected} /></td>
              <td><${Badge} value=${p.healthy} /></td>
              <td class="num">${p.latency_ms === null ? '—' : `${Math.round(p.latency_ms)} ms`}</td>
              <td><${Time} value=${p.last_seen_at} /></td>
              <td><${Id} value=${p.eth_address} keep=${6} /></td>
              <td>${p.addresses.map((a) => html`<div><code class="small">${a}</code></div>`)}</td>
              <td class="row-actions">
                ${p.trust !== 'allowlisted' ? html`<button type="button" onClick=${() => act(p.peer_id, 'allow')}>allow</button>` : null}
                ${p.status !== 'denied' ? html`<button type="button" class="danger" onClick=${() => act(p.peer_id, 'deny')}>deny</button>` : null}
              </td>
            </tr>`
          )}
        </tbody>
      </table>
      ${list.length === 0 ? html`<p class="muted">No peers known yet.</p>` : null}
    <//>
  </div>`
}
