import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import type { Command } from 'commander'
import { DmnError, UsageError } from '../../core/errors.ts'
import type { CliContext } from '../context.ts'
import { PROJECT_ROOT } from '../paths.ts'

/** A benchmark exited with an error; its own output says why. */
export class BenchFailedError extends DmnError {
  override name = 'BenchFailedError'
}

/** The benchmarks of `bench/`; each prints its figures and ends with one JSON line. */
export const BENCHES: Readonly<Record<string, string>> = {
  crypto: 'bench/crypto/run.ts',
  p2p: 'bench/p2p/share-throughput.ts',
  soak: 'bench/p2p/soak.ts',
  audit: 'bench/audit/gas-and-throughput.ts',
  api: 'bench/api/run.ts',
  attest: 'bench/attest/quote-verify.ts'
}

/** `dmn bench <name> [args...]`: runs one benchmark of `bench/` with this Node. */
export function registerBenchCommand(program: Command, ctx: CliContext): void {
  program
    .command('bench')
    .description(`run a benchmark: ${Object.keys(BENCHES).join(', ')}, or all; figures, not pass/fail`)
    .argument('<name>', 'which benchmark')
    .argument('[args...]', "the benchmark's own options (see the head of its file)")
    .allowUnknownOption()
    .action((name: string, args: string[]) => {
      const names = name === 'all' ? Object.keys(BENCHES) : [name]
      for (const one of names) {
        const file = BENCHES[one]
        if (!file)
          throw new UsageError(
            `unknown benchmark ${one}; choose from ${Object.keys(BENCHES).join(', ')}, all`
          )
        ctx.print(`\n== bench ${one} (${file})`)
        const result = spawnSync(
          process.execPath,
          [
            '--experimental-strip-types',
            '--disable-warning=ExperimentalWarning',
            join(PROJECT_ROOT, file),
            ...args
          ],
          { cwd: PROJECT_ROOT, stdio: 'inherit' }
        )
        if (result.status !== 0)
          throw new BenchFailedError(`bench ${one} failed (exit ${result.status ?? result.signal})`)
      }
    })
}
