import type { Command } from 'commander'
import { type Config, loadConfig } from '../../config/index.ts'
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
  dataDir?: string
  logLevel?: string
  verbose?: boolean
}

export function createContext(program: Command): CliContext {
  let config: Config | undefined
  let logger: Logger | undefined
  const ctx: CliContext = {
    config() {
      const opts = program.opts<GlobalOptions>()
      config ??= loadConfig({
        ...(opts.config ? { file: opts.config } : {}),
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
