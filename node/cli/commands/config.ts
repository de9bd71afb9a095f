import type { Command } from 'commander'
import { redactConfig } from '../../../config/index.ts'
import type { CliContext } from '../context.ts'

/** `dmn config show` and `dmn config check`. */
export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('show or check the configuration')
  config
    .command('show')
    .description('print the effective configuration as JSON, secrets redacted')
    .action(() => {
      ctx.print(JSON.stringify(redactConfig(ctx.config()), null, 2))
    })
  config
    .command('check')
    .description('validate the configuration; lists every problem and exits 2 if there is any')
    .action(() => {
      const cfg = ctx.config()
      ctx.print(
        `configuration ok (data dir ${cfg.dataDir}${cfg.masterPassword ? '' : '; no master password set: `dmn start` will refuse'})`
      )
    })
}
