import { Command } from 'commander'
import { UsageError } from '../core/errors.ts'
import { type CliContext, createContext } from './context.ts'
import { PACKAGE_VERSION } from './paths.ts'

type Register = (program: Command, ctx: CliContext) => void

/**
 * Top-level commands and the module that registers each. A module is imported only when its
 * command runs (or for `--help`), so `dmn config show` does not pay for loading libp2p, ethers and
 * Hardhat: most of the CLI's start-up time is module loading.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  start: async () => (await import('./commands/start.ts')).registerStartCommand,
  id: async () => (await import('./commands/id.ts')).registerIdCommand,
  demo: async () => (await import('./commands/demo.ts')).registerDemoCommand,
  dev: async () => (await import('./commands/dev.ts')).registerDevCommands,
  config: async () => (await import('./commands/config.ts')).registerConfigCommands,
  db: async () => (await import('./commands/db.ts')).registerDbCommands,
  keys: async () => (await import('./commands/keys.ts')).registerKeysCommands,
  cert: async () => (await import('./commands/cert.ts')).registerCertCommands,
  peers: async () => (await import('./commands/peers.ts')).registerPeersCommands,
  shares: async () => (await import('./commands/shares.ts')).registerSharesCommands,
  chain: async () => (await import('./commands/chain.ts')).registerChainCommands,
  audit: async () => (await import('./commands/audit.ts')).registerAuditCommands,
  attest: async () => (await import('./commands/attest.ts')).registerAttestCommands,
  apikeys: async () => (await import('./commands/apikeys.ts')).registerApiKeyCommands,
  webhooks: async () => (await import('./commands/webhooks.ts')).registerWebhookCommands,
  test: async () => (await import('./commands/test.ts')).registerTestCommand,
  bench: async () => (await import('./commands/bench.ts')).registerBenchCommand,
  completion: async () => (await import('./commands/completion.ts')).registerCompletionCommand
}

/** Global options that take a value, so the command name can be found after them. */
const VALUE_OPTIONS = new Set(['-c', '--config', '--env-file', '-d', '--data-dir', '--log-level'])

/** The top-level command named in `args` (process.argv without node and script), if any. */
export function commandNameOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (VALUE_OPTIONS.has(arg)) i++
    else if (!arg.startsWith('-')) return arg
  }
  return undefined
}

/**
 * Builds the `dmn` command tree for `args`: only the named command's module is loaded; with no
 * known command (help, a typo) every module is, so help and "unknown command" stay complete.
 */
export async function buildProgram(
  args: readonly string[] = []
): Promise<{ program: Command; ctx: CliContext }> {
  const program = new Command('dmn')
    .description(
      'DataMgmt Node: share data between organisations, end to end encrypted, with an on-chain audit trail'
    )
    .version(PACKAGE_VERSION, '-V, --version')
    .option('-c, --config <file>', 'JSON config file (default: $DMN_CONFIG)')
    .option('--env-file <file>', 'KEY=value settings under the environment (default: ./.env if present)')
    .option('-d, --data-dir <dir>', 'data directory (overrides config and DATA_DIR)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('-v, --verbose', 'print stack traces of errors')
    // Commander's own errors ("error: unknown option") speak like every other error: one `dmn:` line.
    .configureOutput({ outputError: (text, write) => write(`${usageLine(text)}\n`) })
    .exitOverride()
  const ctx = createContext(program)
  let name = commandNameOf(args)
  // `dmn help db` needs only the db module, `dmn help help` none, `dmn help` every one.
  if (name === 'help') name = commandNameOf(args.slice(args.indexOf('help') + 1))
  const wantsVersionOnly = name === undefined && (args.includes('-V') || args.includes('--version'))
  const one = name === undefined ? undefined : COMMANDS[name]
  // `dmn completion` describes the whole tree, so it loads every command like help does.
  const everything = Object.values(COMMANDS)
  const loaders =
    name === 'completion' ? everything : one ? [one] : wantsVersionOnly || name === 'help' ? [] : everything
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program, ctx)
  replaceHelpCommands(program)
  for (const command of program.commands) command.exitOverride()
  return { program, ctx }
}

/** A usage error as one line: `dmn: <what>` and where to look. */
function usageLine(text: string): string {
  // Commander puts its "Did you mean ...?" on a line of its own.
  const what = text
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
  return `dmn: ${what} (run \`dmn --help\` for usage)`
}

/**
 * Gives `program` and every command with subcommands a `help [command...]` command that shows the
 * help of a command at any depth (`dmn help keys init`) or its own (`dmn help help`), exit code 0;
 * an unknown name is a usage error. It replaces commander's implicit help command, which answers
 * `help help` with exit code 1. Runs after registration: subcommands copy the help setting when made.
 */
function replaceHelpCommands(command: Command): void {
  const parents = command.commands.filter((c) => c.commands.length > 0)
  for (const parent of parents) replaceHelpCommands(parent)
  command.helpCommand(false)
  command
    .command('help')
    .argument('[command...]', 'a command, with its subcommands')
    .description('display help for a command')
    .action((path: string[]) => {
      let target = command
      for (const [i, name] of path.entries()) {
        const next = target.commands.find((c) => c.name() === name)
        if (next === undefined) {
          const shown = [...(command.parent ? [command.name()] : []), ...path.slice(0, i + 1)].join(' ')
          throw new UsageError(usageLine(`unknown command '${shown}'`).slice('dmn: '.length))
        }
        target = next
      }
      target.help()
    })
}
