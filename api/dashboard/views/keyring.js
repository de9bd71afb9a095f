// The key ring: data key versions and the records under each; rotate, and rewrap with its progress.
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { Badge, Card, ErrorNote, html, Id, Time, useApi } from '../ui.js'

// The rewrap commits in batches; the records left under older versions show how far it got.
const PROGRESS_POLL_MS = 250

function notAtPrimary(status) {
  return Object.entries(status.records_by_version)
    .filter(([version]) => Number(version) !== status.primary_version)
    .reduce((sum, [, n]) => sum + n, 0)
}

export function KeyRingView() {
  const ring = useApi('/keyring', { refreshOn: ['security.key.'] })
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(null)
  const [progress, setProgress] = useState(null)
  const [note, setNote] = useState(null)

  const rotate = async () => {
    setBusy('rotate')
    setError(null)
    try {
      const r = await api('/keyring/rotate', { method: 'POST' })
      setNote(
        `Rotated: version ${r.primary_version} is primary. Records stay under their version until a rewrap.`
      )
      await ring.reload()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(null)
    }
  }

  const rewrap = async () => {
    setBusy('rewrap')
    setError(null)
    const total = ring.data ? notAtPrimary(ring.data) : 0
    setProgress({ done: 0, total })
    const poll = setInterval(async () => {
      try {
        const now = await api('/keyring')
        setProgress({ done: Math.max(0, total - notAtPrimary(now)), total })
      } catch {
        // The rewrap's own answer reports failures.
      }
    }, PROGRESS_POLL_MS)
    try {
      const r = await api('/keyring/rewrap', { method: 'POST' })
      setProgress({ done: r.rewrapped, total: Math.max(total, r.rewrapped) })
      setNote(`Rewrapped ${r.rewrapped} record(s) under version ${r.primary_version}.`)
      await ring.reload()
    } catch (err) {
      setError(err)
    } finally {
      clearInterval(poll)
      setBusy(null)
    }
  }

  const s = ring.data
  const pending = s ? notAtPrimary(s) : 0
  return html`<div class="page" data-testid="page-keyring">
    <${Card} title="Data keys" actions=${html`
        <button type="button" onClick=${rotate} disabled=${busy !== null} data-action="rotate">Rotate</button>
        <button type="button" onClick=${rewrap} disabled=${busy !== null || pending === 0} data-action="rewrap">
          Rewrap ${pending} record(s)</button>`}>
      <${ErrorNote} error=${ring.error ?? error} />
      ${note ? html`<p class="note" data-testid="keyring-note">${note}</p>` : null}
      ${
        progress
          ? html`<div class="progress" data-testid="rewrap-progress">
            <progress max=${Math.max(progress.total, 1)} value=${progress.done}></progress>
            <span>${busy === 'rewrap' ? 'rewrapping' : 'done'}: ${progress.done} / ${progress.total}</span>
          </div>`
          : null
      }
      ${
        s
          ? html`<p>primary <strong data-testid="primary-version">${s.primary_version}</strong>,
              oldest that decrypts <strong>${s.minimum_version}</strong></p>
            <table class="grid" data-testid="key-versions">
              <thead><tr><th class="num">version</th><th>created</th><th>state</th><th class="num">records</th></tr></thead>
              <tbody>
                ${[...s.versions].reverse().map(
                  (v) => html`<tr data-version=${v.version}>
                    <td class="num">${v.version}</td><td><${Time} value=${v.created_at} /></td>
                    <td>${v.version === s.primary_version ? html`<${Badge} value="primary" tone="good" />` : v.retired ? html`<${Badge} value="retired" />` : html`<${Badge} value="active" />`}</td>
                    <td class="num">${s.records_by_version[String(v.version)] ?? 0}</td>
                  </tr>`
                )}
              </tbody>
            </table>
            <h3>Identity keys</h3>
            <dl class="fields"><dt>signing</dt><dd><${Id} value=${s.signing_key_id} keep=${16} /></dd>
              <dt>encryption</dt><dd><${Id} value=${s.encryption_key_id} keep=${16} /></dd></dl>`
          : null
      }
    <//>
  </div>`
}
