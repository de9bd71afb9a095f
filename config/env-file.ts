import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { ConfigError } from '../node/core/errors.ts'

/**
 * An env file (`KEY=value` lines, as `config/example.env`), parsed but not applied: `loadConfig()`
 * layers it under the process environment, which wins, and never writes it into `process.env`.
 */
export interface EnvFile {
  /** Absolute path, named in configuration problems as the source of a value. */
  readonly path: string
  readonly values: Readonly<Record<string, string>>
}

/** The file read when no `--env-file` is given, if it is present in the working directory. */
export const DEFAULT_ENV_FILE = '.env'

/**
 * Reads and parses `file` with Node's own dotenv parser (`util.parseEnv`: quotes, `export`, comments
 * and multi-line values as Node's `--env-file` reads them). With `{ optional: true }` a missing file
 * is no env file; any other failure to read is a `ConfigError` naming the file.
 */
export function readEnvFile(file: string, options: { optional?: boolean } = {}): EnvFile | undefined {
  const path = resolve(file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (options.optional && code === 'ENOENT') return undefined
    throw new ConfigError([`env file ${path}: cannot be read (${code ?? 'error'})`], { cause: err })
  }
  const values: Record<string, string> = {}
  for (const [name, value] of Object.entries(parseEnv(text))) if (value !== undefined) values[name] = value
  return { path, values }
}
