import type { Command } from 'commander'
import { configSchema, ENV_BINDINGS } from '../../../config/index.ts'
import { runNode } from '../../main.ts'
import type { CliContext } from '../context.ts'

/** The settings an operator meets first, with why; names and defaults come from the config itself. */
const FIRST_SETTINGS: readonly (readonly [path: string, what: string])[] = [
  ['masterPassword', 'unlocks the key ring; the node does not start without it'],
  ['masterPasswordFile', "a file holding it instead (a relative name: in systemd's $CREDENTIALS_DIRECTORY)"],
  ['dataDir', 'database, key ring and chain state; --data-dir sets it too'],
  ['p2p.port', 'libp2p TCP port other nodes dial'],
  ['p2p.host', 'address libp2p listens on'],
  ['p2p.bootstrap', 'multiaddrs of nodes to dial at start (`dmn id` on them prints theirs)'],
  ['api.internal.port', 'operator API, on loopback'],
  ['api.external.port', 'application API, the one nginx proxies'],
  ['chain.rpcUrl', 'EVM JSON-RPC endpoint; unset: an embedded local chain (anvil) kept in <dataDir>/chain'],
  ['chain.privateKey', "audit account's key; unset: one kept in the key ring"],
  ['chain.contractAddress', 'AuditTrail contract; unset: chain.json of `dmn chain deploy`']
]

function settingsHelp(): string {
  const defaults = configSchema.parse({}) as Record<string, unknown>
  const valueAt = (path: string) =>
    path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], defaults)
  const rows = FIRST_SETTINGS.map(([path, what]) => {
    const names = ENV_BINDINGS.find((b) => b.path === path)?.names.join(', ') ?? path
    const value = valueAt(path)
    const shown =
      value === undefined || (Array.isArray(value) && value.length === 0) ? '' : ` (default ${value})`
    return `  ${names}\n      ${what}${shown}`
  })
  return [
    '',
    'Settings to know first (environment variables; a JSON --config file or an env file holds them too):',
    ...rows,
    '  --env-file <file>',
    '      KEY=value lines read before start (default ./.env if present); the environment wins',
    '',
    'Every setting with its current value: dmn config show. Validate without starting: dmn config check.'
  ].join('\n')
}

/** `dmn start`: runs one node in the foreground until SIGINT or SIGTERM. */
export function registerStartCommand(program: Command, ctx: CliContext): void {
  program
    .command('start')
    .description('run the node in the foreground until SIGINT or SIGTERM')
    .addHelpText('after', settingsHelp)
    .action(async () => {
      await runNode({ config: ctx.config(), logger: ctx.logger() })
    })
}
