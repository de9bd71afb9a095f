import type { Command } from 'commander'
import { type Config, DEFAULT_ENV_FILE, loadConfig, readEnvFile } from '../../config/index.ts'
import { createLogger, type Logger } from '../log/logger.ts'

/** What every command gets: the global options resolved into config and a logger. */
export interface CliContext {
  /** Loads and validates config once, with global flags applied. */
  config(): Config
  logger(): Logger
  /** Writes a line of human output to stdout. */
  print(line: string): void
}

export interface GlobalOptions {
  config?: string
  envFile?: string
  dataDir?: string
  logLevel?: string
  verbose?: boolean
}

export function createContext(program: Command): CliContext {
  let config: Config | undefined
  let logger: Logger | undefined
  const ctx: CliContext = {
    config() {
      if (config) return config
      const opts = program.opts<GlobalOptions>()
      // An explicit --env-file must exist; `.env` in the working directory is read when present.
      const envFile = opts.envFile
        ? readEnvFile(opts.envFile)
        : readEnvFile(DEFAULT_ENV_FILE, { optional: true })
      config = loadConfig({
        ...(opts.config ? { file: opts.config } : {}),
        ...(envFile ? { envFile } : {}),
        overrides: { dataDir: opts.dataDir, logLevel: opts.logLevel }
      })
      return config
    },
    logger() {
      logger ??= createLogger({ level: ctx.config().logLevel })
      return logger
    },
    print(line) {
      process.stdout.write(`${line}\n`)
    }
  }
  return ctx
}
