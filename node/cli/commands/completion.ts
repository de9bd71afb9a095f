import type { Command } from 'commander'
import { COMPLETION_SHELLS, completionScript, parseShell } from '../completion.ts'
import type { CliContext } from '../context.ts'

/** `dmn completion bash|zsh`: the shell completion script, made from this program's command tree. */
export function registerCompletionCommand(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('print the shell completion script: source <(dmn completion bash)')
    .argument('<shell>', COMPLETION_SHELLS.join(' | '))
    .action((shell: string) => {
      // Runs after the whole tree is built (help commands included), so every command is in it.
      ctx.print(completionScript(program, parseShell(shell)).trimEnd())
    })
}
