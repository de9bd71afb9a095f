import type { Command } from 'commander'
import { UsageError } from '../../core/errors.ts'
import { API_KEY_SCOPES, type ApiKeyInfo, type ApiKeyScope, apiKeyNameProblem } from '../../core/ports.ts'
import { createApiKeyStore } from '../../store/api-keys.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray, printJsonObject } from '../json-output.ts'

/**
 * `dmn apikeys create|list|revoke`: manage API keys in the node's database, also while the node is
 * stopped (SQLite WAL lets a running node and this command share the file).
 */
export function registerApiKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('apikeys').description('API keys for the external API (X-API-Key)')

  keys
    .command('create')
    .description('create a key; it is printed once and only its hash is kept')
    .requiredOption('-n, --name <name>', 'who or what the key is for')
    .option('-s, --scopes <scopes>', `comma-separated, among ${API_KEY_SCOPES.join(', ')}`, 'share,read')
    .option('--expires-in-days <days>', 'expire after this many days (default: never)')
    .option('--json', 'print the key and its details as JSON')
    .action((opts: { name: string; scopes: string; expiresInDays?: string; json?: boolean }) => {
      const nameProblem = apiKeyNameProblem(opts.name)
      if (nameProblem) throw new UsageError(`--name: ${nameProblem}`)
      const scopes = parseScopes(opts.scopes)
      let expiresAt: Date | null = null
      if (opts.expiresInDays !== undefined) {
        const days = Number(opts.expiresInDays)
        if (!Number.isFinite(days) || days <= 0)
          throw new UsageError('--expires-in-days must be a positive number')
        expiresAt = new Date(Date.now() + days * 86_400_000)
      }
      withStore(ctx, (store) => {
        const { key, info } = store.create({ name: opts.name, scopes, expiresAt })
        if (opts.json) {
          printJsonObject(ctx, { key, ...info })
          return
        }
        ctx.print(
          `API key ${info.id} (${info.name}; scopes ${info.scopes.join(', ')}${expiresAt ? `; expires ${info.expiresAt}` : ''})`
        )
        ctx.print(key)
        ctx.print('This is the only time the key is shown; store it now.')
      })
    })

  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--json', 'print one JSON array')
    .action((opts: { json?: boolean }) => {
      withStore(ctx, (store) => {
        const all = store.list()
        if (opts.json) printJsonArray(ctx, all)
        else if (all.length === 0) ctx.print('no API keys')
        else for (const k of all) ctx.print(describe(k))
      })
    })

  keys
    .command('revoke <id>')
    .description('revoke a key by id; it stays listed as revoked')
    .action((id: string) => {
      withStore(ctx, (store) => {
        const info = store.revoke(id)
        ctx.print(`revoked ${info.id} (${info.name}) at ${info.revokedAt}`)
      })
    })
}

function parseScopes(raw: string): ApiKeyScope[] {
  const scopes = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  for (const s of scopes) {
    if (!(API_KEY_SCOPES as readonly string[]).includes(s)) {
      throw new UsageError(`unknown scope ${s}; expected some of ${API_KEY_SCOPES.join(', ')}`)
    }
  }
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one scope')
  return scopes as ApiKeyScope[]
}

function describe(k: ApiKeyInfo): string {
  const state = k.revokedAt ? `revoked ${k.revokedAt}` : k.expiresAt ? `expires ${k.expiresAt}` : 'active'
  return `${k.id}  ${k.name}  [${k.scopes.join(',')}]  ${state}  last used ${k.lastUsedAt ?? 'never'}`
}

function withStore(ctx: CliContext, fn: (store: ReturnType<typeof createApiKeyStore>) => void): void {
  withDatabase(ctx, (db) => fn(createApiKeyStore(db)))
}
