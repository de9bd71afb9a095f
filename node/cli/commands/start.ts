import type { Command } from 'commander'
import { runNode } from '../../main.ts'
import type { CliContext } from '../context.ts'

/** `dmn start`: runs one node in the foreground until SIGINT or SIGTERM. */
export function registerStartCommand(program: Command, ctx: CliContext): void {
  program
    .command('start')
    .description('run the node in the foreground until SIGINT or SIGTERM')
    .action(async () => {
      await runNode({ config: ctx.config(), logger: ctx.logger() })
    })
}
