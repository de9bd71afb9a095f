import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino'

/**
 * Structured JSON-lines logging (pino). Every field that can carry a secret is redacted wherever it
 * appears up to three levels deep, so a component cannot leak one by logging a whole object.
 */

export type { Logger } from 'pino'

/** Field names that carry secrets. Matching is exact and case-sensitive, as pino's redaction is. */
export const SECRET_FIELDS: readonly string[] = [
  'password',
  'masterPassword',
  'passphrase',
  'privateKey',
  'private_key',
  'privateKeyPem',
  'secret',
  'apiKey',
  'api_key',
  'token',
  'accessToken',
  'authorization',
  'x-api-key',
  'cookie',
  'contentKey',
  'dataKey',
  'mnemonic',
  'seed'
]

function redactPaths(): string[] {
  const quoted = SECRET_FIELDS.map((field) => (/^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`))
  const join = (prefix: string, field: string) =>
    field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`
  return quoted.flatMap((field) => [
    field.startsWith('[') ? field.slice(2, -2) : field,
    join('*', field),
    join('*.*', field),
    join('*.*.*', field)
  ])
}

export interface CreateLoggerInit {
  readonly level?: LoggerOptions['level']
  readonly name?: string
  /** Where lines go; stdout unless given. */
  readonly destination?: DestinationStream
}

/** The root logger of a process. Components take `logger.child({ component })`. */
export function createLogger(init: CreateLoggerInit = {}): Logger {
  const options: LoggerOptions = {
    level: init.level ?? 'info',
    name: init.name ?? 'dmn',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(), censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) }
  }
  return init.destination ? pino(options, init.destination) : pino(options)
}

/** A child logger for one component, tagged so lines can be filtered by component. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component })
}
