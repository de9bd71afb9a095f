import type { Command } from 'commander'
import { UsageError } from '../../core/errors.ts'
import { eventTypesProblem, type WebhookAdmin, type WebhookView, webhookFields } from '../../core/webhooks.ts'
import { EventLogRepository } from '../../store/event-log.ts'
import { WebhookRepository } from '../../store/webhooks.ts'
import { createWebhookAdmin } from '../../webhooks/admin.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray, printJsonObject } from '../json-output.ts'

/**
 * `dmn webhooks create|list|pause|resume|delete`: webhook subscriptions in the node's database, also
 * while the node is stopped. A running node re-reads them every `webhooks.pollIntervalMs`.
 */
export function registerWebhookCommands(program: Command, ctx: CliContext): void {
  const hooks = program.command('webhooks').description("webhook subscriptions to the node's events")

  const withAdmin = <T>(fn: (admin: WebhookAdmin) => T): T =>
    withDatabase(ctx, (db) => {
      const api = ctx.config().api
      return fn(
        createWebhookAdmin({
          subscriptions: () => new WebhookRepository(db),
          events: () => new EventLogRepository(db),
          own: { ports: () => [api.internal.port, api.external.port] }
        })
      )
    })

  hooks
    .command('create')
    .description('subscribe a URL to the events from now on; the signing secret is printed once')
    .requiredOption('-u, --url <url>', 'http(s) URL the events are POSTed to')
    .option('-t, --types <prefixes>', 'comma-separated event type prefixes (default: every event)', '')
    .option('--json', 'print the subscription and its secret as JSON')
    .action(async (opts: { url: string; types: string; json?: boolean }) => {
      const eventTypes = opts.types
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '')
      const problem = eventTypesProblem(eventTypes)
      if (problem) throw new UsageError(`--types: ${problem}`)
      const { secret, view } = await withAdmin((admin) => admin.create({ url: opts.url, eventTypes }))
      if (opts.json) {
        printJsonObject(ctx, { ...webhookFields(view), secret })
        return
      }
      ctx.print(`webhook ${view.id} -> ${view.url} (${describeTypes(view)}; from event ${view.cursor} on)`)
      ctx.print(secret)
      ctx.print('This is the only time the secret is shown; give it to the receiver now.')
    })

  hooks
    .command('list')
    .description('subscriptions and where their deliveries stand (never the secrets)')
    .option('--json', 'print one JSON array')
    .action((opts: { json?: boolean }) => {
      const all = withAdmin((admin) => admin.list())
      if (opts.json) printJsonArray(ctx, all.map(webhookFields))
      else if (all.length === 0) ctx.print('no webhook subscriptions')
      else for (const v of all) ctx.print(describe(v))
    })

  for (const action of ['pause', 'resume', 'delete'] as const) {
    hooks
      .command(`${action} <id>`)
      .description(
        action === 'pause'
          ? 'stop delivering; the cursor stays'
          : action === 'resume'
            ? 'deliver again from the cursor; a failed subscription retries the event it stopped at'
            : 'delete a subscription'
      )
      .action((id: string) => {
        const view = withAdmin((admin) => admin[action](id))
        ctx.print(action === 'delete' ? `deleted ${view.id}` : `${view.id} ${view.state}`)
      })
  }
}

function describeTypes(v: WebhookView): string {
  return v.eventTypes.length === 0 ? 'every event' : v.eventTypes.join(',')
}

function describe(v: WebhookView): string {
  const failing =
    v.failingEventId === null
      ? ''
      : `  failing at event ${v.failingEventId} since ${v.failingSince}: ${v.lastError}`
  return `${v.id}  ${v.state}  ${v.url}  [${describeTypes(v)}]  cursor ${v.cursor}  attempts ${v.attempts}${failing}`
}
