import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { DmnError } from '../../core/errors.ts'
import { PROJECT_ROOT } from '../paths.ts'
import type { CliContext } from '../context.ts'

/** A test step failed; its own output already says why. */
export class TestStepFailedError extends DmnError {
  override name = 'TestStepFailedError'
}

interface Step {
  readonly title: string
  readonly bin: string
  readonly args: readonly string[]
  readonly when?: () => boolean
}

const hasContractTests = () => {
  const dir = join(PROJECT_ROOT, 'contracts', 'test')
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.test.ts'))
}

const STEPS: readonly Step[] = [
  // Interop, nginx and TPM tests use Debian packages; a no-op once they are installed.
  { title: 'system packages', bin: 'bash', args: ['scripts/install-system-deps.sh'] },
  { title: 'type check (tsc)', bin: 'tsc', args: ['-p', 'tsconfig.json'] },
  { title: 'lint (biome)', bin: 'biome', args: ['check', '--error-on-warnings', '.'] },
  { title: 'unit and integration tests (vitest)', bin: 'vitest', args: ['run'] },
  { title: 'contract tests (hardhat)', bin: 'hardhat', args: ['test', 'nodejs'], when: hasContractTests }
]

/** `dmn test`: every check in order, stopping at the first that fails. */
export function registerTestCommand(program: Command, ctx: CliContext): void {
  program
    .command('test')
    .description(
      'type check, lint, unit and integration tests, then contract tests; stops at the first failure'
    )
    .argument('[filters...]', 'only run vitest files matching these filters (skips the other steps)')
    .action((filters: string[]) => {
      const vitest = STEPS.find((s) => s.bin === 'vitest') as Step
      const steps = filters.length > 0 ? [{ ...vitest, args: ['run', ...filters] }] : STEPS
      for (const step of steps) {
        if (step.when && !step.when()) continue
        ctx.print(`\n== ${step.title}`)
        const bin = step.bin === 'bash' ? 'bash' : join(PROJECT_ROOT, 'node_modules', '.bin', step.bin)
        const result = spawnSync(bin, step.args, {
          cwd: PROJECT_ROOT,
          stdio: 'inherit'
        })
        if (result.status !== 0) {
          throw new TestStepFailedError(`${step.title} failed (exit ${result.status ?? result.signal})`)
        }
      }
    })
}
