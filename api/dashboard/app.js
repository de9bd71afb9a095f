// The dashboard's shell: navigation (the URL's hash), the key prompt, the live feed every view hears.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { apiKey, followEvents, onUnauthorized, setApiKey } from './api.js'
import { Badge, html, Id, publish, useApi } from './ui.js'
import { AccessView } from './views/access.js'
import { AuditView } from './views/audit.js'
import { EventsView } from './views/events.js'
import { KeyRingView } from './views/keyring.js'
import { OverviewView } from './views/overview.js'
import { PeersView } from './views/peers.js'
import { SharesView } from './views/shares.js'

const PAGES = [
  ['overview', 'Node', OverviewView],
  ['peers', 'Peers', PeersView],
  ['shares', 'Shares', SharesView],
  ['audit', 'Outbox', AuditView],
  ['keyring', 'Key ring', KeyRingView],
  ['access', 'API keys & webhooks', AccessView],
  ['events', 'Events', EventsView]
]
// The feed keeps this many of the newest events in memory.
const FEED_SIZE = 500

function route() {
  const [page = 'overview', ...rest] = location.hash.replace(/^#\/?/, '').split('/')
  return { page: PAGES.some(([name]) => name === page) ? page : 'overview', args: rest }
}

function KeyPrompt({ onDone }) {
  const [value, setValue] = useState('')
  const submit = (e) => {
    e.preventDefault()
    setApiKey(value.trim())
    onDone()
  }
  return html`<form class="card key-prompt" onSubmit=${submit}>
    <h2>API key needed</h2>
    <p>This internal API is not on loopback: every call needs an API key with the <code>admin</code>
      scope (<code>dmn apikeys create --scopes admin</code>). It is kept in this tab only.</p>
    <input type="password" name="api_key" autocomplete="off" placeholder="dmn_…" value=${value}
      onInput=${(e) => setValue(e.currentTarget.value)} required />
    <button type="submit">Use key</button>
  </form>`
}

function App() {
  const [where, setWhere] = useState(route())
  const [needKey, setNeedKey] = useState(false)
  const [epoch, setEpoch] = useState(0)
  const [feed, setFeed] = useState([])
  const [feedState, setFeedState] = useState('connecting')
  const id = useApi('/id')
  const health = useApi('/health', { everyMs: 5_000, accept: [503] })

  useEffect(() => {
    const onHash = () => setWhere(route())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  useEffect(() => onUnauthorized(() => setNeedKey(true)), [])
  useEffect(() => {
    const controller = new AbortController()
    followEvents({
      signal: controller.signal,
      onState: setFeedState,
      onEvent: (event) => {
        setFeed((events) => [event, ...events].slice(0, FEED_SIZE))
        publish(event)
      }
    })
    return () => controller.abort()
  }, [epoch])

  const keyed = () => {
    setNeedKey(false)
    setEpoch((n) => n + 1)
    id.reload()
    health.reload()
  }
  const Page = (PAGES.find(([name]) => name === where.page) ?? PAGES[0])[2]
  return html`<div class="shell">
    <header class="top">
      <div class="brand">DataMgmt Node</div>
      <div class="node-id">PeerId <${Id} value=${id.data?.peer_id} keep=${10} /></div>
      <div class="status">
        <span>health <${Badge} value=${health.data?.status} /></span>
        <span class=${`live ${feedState}`} data-testid="feed-state">${feedState}</span>
        ${
          apiKey()
            ? html`<button type="button" class="link" onClick=${() => {
                setApiKey('')
                setNeedKey(true)
              }}>forget key</button>`
            : null
        }
      </div>
    </header>
    <nav>
      ${PAGES.map(
        ([name, label]) =>
          html`<a href=${`#/${name}`} class=${where.page === name ? 'current' : ''} data-page=${name}>${label}</a>`
      )}
    </nav>
    <main key=${epoch}>
      ${needKey ? html`<${KeyPrompt} onDone=${keyed} />` : html`<${Page} args=${where.args} feed=${feed} health=${health} identity=${id} />`}
    </main>
  </div>`
}

render(html`<${App} />`, document.getElementById('app'))
