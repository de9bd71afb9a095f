import { CommanderError } from 'commander'
import { ConfigError, DmnError, UsageError } from '../core/errors.ts'
import { exitQuietlyOnClosedPipe } from './closed-pipe.ts'
import { buildProgram } from './program.ts'

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
  if (err instanceof ConfigError || err instanceof UsageError) return EXIT_USAGE
  return EXIT_FAILURE
}

/**
 * One line for the operator, `dmn: ...`: a DmnError's message names the setting or command that
 * fixes it; anything else is unexpected and says how to see more. The stack only with --verbose or
 * DMN_VERBOSE=1.
 */
export function describeError(err: unknown, verbose: boolean): string {
  if (verbose && err instanceof Error && err.stack) return `dmn: ${err.stack}`
  if (err instanceof DmnError) return `dmn: ${oneLine(err.message)}`
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return `dmn: ${oneLine(what)} (unexpected: run again with --verbose for the stack)`
}

/** A message's lines joined, so that the error stays one line however it was written. */
function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join('; ')
}

async function main(argv: string[]): Promise<number> {
  const { program } = await buildProgram(argv.slice(2))
  const verbose = argv.includes('--verbose') || argv.includes('-v') || process.env['DMN_VERBOSE'] === '1'
  try {
    await program.parseAsync(argv)
    return EXIT_OK
  } catch (err) {
    // Commander already printed its own usage message.
    if (!(err instanceof CommanderError)) process.stderr.write(`${describeError(err, verbose)}\n`)
    return exitCodeFor(err)
  }
}

/**
 * The arguments after the script, without the `--` that separates them from Node's own (the `dmn`
 * wrapper puts it there so Node does not read the CLI's `--env-file` as its flag of that name).
 */
function cliArgv(argv: readonly string[]): string[] {
  return argv[2] === '--' ? [...argv.slice(0, 2), ...argv.slice(3)] : [...argv]
}

exitQuietlyOnClosedPipe()
process.exitCode = await main(cliArgv(process.argv))
