import { Command } from 'commander'
import { registerApiKeyCommands } from './commands/apikeys.ts'
import { registerCertCommands } from './commands/cert.ts'
import { registerAuditCommands } from './commands/audit.ts'
import { registerChainCommands } from './commands/chain.ts'
import { registerConfigCommands } from './commands/config.ts'
import { registerDbCommands } from './commands/db.ts'
import { registerDemoCommand } from './commands/demo.ts'
import { registerKeysCommands } from './commands/keys.ts'
import { registerPeersCommands } from './commands/peers.ts'
import { registerStartCommand } from './commands/start.ts'
import { registerTestCommand } from './commands/test.ts'
import { type CliContext, createContext } from './context.ts'
import { PACKAGE_VERSION } from './paths.ts'

/** Builds the `dmn` command tree. Commands register themselves from `commands/`. */
export function buildProgram(): { program: Command; ctx: CliContext } {
  const program = new Command('dmn')
    .description(
      'DataMgmt Node: share data between organisations, end to end encrypted, with an on-chain audit trail'
    )
    .version(PACKAGE_VERSION, '-V, --version')
    .option('-c, --config <file>', 'JSON config file (default: $DMN_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory (overrides config and DATA_DIR)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('-v, --verbose', 'print stack traces of errors')
    .showHelpAfterError('(run `dmn --help` for usage)')
    .exitOverride()
  const ctx = createContext(program)
  registerStartCommand(program, ctx)
  registerConfigCommands(program, ctx)
  registerDbCommands(program, ctx)
  registerChainCommands(program, ctx)
  registerAuditCommands(program, ctx)
  registerApiKeyCommands(program, ctx)
  registerDemoCommand(program, ctx)
  registerKeysCommands(program, ctx)
  registerCertCommands(program, ctx)
  registerPeersCommands(program, ctx)
  registerTestCommand(program, ctx)
  for (const command of program.commands) command.exitOverride()
  return { program, ctx }
}
