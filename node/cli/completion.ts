import type { Command, Option } from 'commander'
import { UsageError } from '../core/errors.ts'

/** The shells `dmn completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const
export type CompletionShell = (typeof COMPLETION_SHELLS)[number]

// Names and flags go into the script unquoted inside single quotes: only these characters may.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/
const SAFE_FLAG = /^--?[A-Za-z0-9][A-Za-z0-9-]*$/

interface Node {
  /** Subcommand names after `dmn`, space-separated; '' for `dmn` itself. */
  readonly path: string
  /** What may follow here: subcommands, then options. */
  readonly words: readonly string[]
}

/**
 * The completion script for `shell`, generated from `program`'s command tree as it is built, so it
 * names exactly the commands and options this `dmn` has. The program's own options are accepted
 * after any command (commander's default), so they complete everywhere.
 */
export function completionScript(program: Command, shell: CompletionShell): string {
  const nodes: Node[] = []
  const valueFlags = new Set<string>()
  const rootFlags = flagsOf(program.options, valueFlags)
  // -V/--version belongs to `dmn` alone; the other program options work after any command.
  const globalFlags = flagsOf(
    program.options.filter((o) => o.attributeName() !== 'version'),
    valueFlags
  )
  const walk = (command: Command, path: string) => {
    const subcommands = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden)
    const flags = command === program ? rootFlags : [...flagsOf(command.options, valueFlags), ...globalFlags]
    nodes.push({ path, words: [...subcommands.map((c) => safe(c.name(), SAFE_NAME)), ...flags, '--help'] })
    for (const sub of subcommands) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`)
  }
  walk(program, '')
  const body = bashFunction(nodes, [...valueFlags].sort())
  if (shell === 'bash') {
    return `# bash completion for dmn, generated from its command tree.\n# Load it with: source <(dmn completion bash)\n${body}complete -F _dmn_completion dmn\n`
  }
  // zsh runs bash completion functions through bashcompinit: one function for both shells.
  return `#compdef dmn\n# zsh completion for dmn, generated from its command tree.\n# Load it with: source <(dmn completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${body}complete -F _dmn_completion dmn\n`
}

/** Parses the `<shell>` argument of `dmn completion`. */
export function parseShell(value: string): CompletionShell {
  if ((COMPLETION_SHELLS as readonly string[]).includes(value)) return value as CompletionShell
  throw new UsageError(`unknown shell ${value}: \`dmn completion\` writes ${COMPLETION_SHELLS.join(' or ')}`)
}

function flagsOf(options: readonly Option[], valueFlags: Set<string>): string[] {
  const flags: string[] = []
  for (const option of options) {
    if (option.hidden) continue
    for (const flag of [option.long, option.short]) {
      if (flag === undefined) continue
      flags.push(safe(flag, SAFE_FLAG))
      if (option.required || option.optional) valueFlags.add(flag)
    }
  }
  return flags
}

function safe(word: string, pattern: RegExp): string {
  if (!pattern.test(word)) throw new Error(`cannot complete ${JSON.stringify(word)}: not a plain name`)
  return word
}

/**
 * Finds the command path among the words before the cursor (skipping options and the value after
 * an option that takes one; a word that extends no known path is an argument) and offers what may
 * follow it.
 */
function bashFunction(nodes: readonly Node[], valueFlags: readonly string[]): string {
  const paths = nodes.filter((n) => n.path !== '').map((n) => `'${n.path}'`)
  const cases = nodes.map((n) => `    '${n.path}') words='${n.words.join(' ')}' ;;`).join('\n')
  return `_dmn_completion() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path='' word next words i skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if ((skip)); then
      skip=0
      continue
    fi
    case "$word" in
    ${valueFlags.join('|')}) skip=1 ;;
    -*) ;;
    *)
      next="\${path:+$path }$word"
      case "$next" in
      ${paths.join('|')}) path="$next" ;;
      esac
      ;;
    esac
  done
  case "$path" in
${cases}
    *) words='' ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
`
}
