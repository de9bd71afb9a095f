import { readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { configSchema } from '../config/index.ts'
import { ConfigError } from '../node/core/errors.ts'

/**
 * Renders nginx/dmn.conf, the TLS front of the external API: fills its {{MARKED}} values, each
 * checked first (a value could otherwise end a directive and add others), and refuses to proxy the
 * internal API's port. Run as a script it writes the result for operators:
 * `node nginx/render.ts --server-name dmn.example.org --certificate ... --certificate-key ...`.
 */

export const TEMPLATE_PATH = fileURLToPath(new URL('./dmn.conf', import.meta.url))

export interface DmnConfValues {
  readonly serverName: string
  readonly httpsListen: string
  readonly httpListen: string
  readonly publicOrigin: string
  readonly tlsCertificate: string
  readonly tlsCertificateKey: string
  readonly upstreamHost: string
  readonly upstreamPort: number
  readonly bodyLimitBytes: number
  readonly rateLimit: string
  readonly rateBurst: number
}

export type DmnConfInput = Pick<DmnConfValues, 'serverName' | 'tlsCertificate' | 'tlsCertificateKey'> &
  Partial<DmnConfValues> & {
    /** The node's internal API port, never to be proxied (api.internal.port, 8080 by default). */
    readonly internalPort?: number
  }

/** A value for the template that is missing or unsafe; `problems` names every one. */
export class NginxTemplateError extends ConfigError {
  override name = 'NginxTemplateError'
}

const NODE_DEFAULTS = configSchema.parse({}).api

/** Production defaults: the node's own port and body limit, and a per-address limit above the
 * node's per-key one (several API keys may share one address). */
export function dmnConfValues(input: DmnConfInput): DmnConfValues & { readonly internalPort: number } {
  const httpsListen = input.httpsListen ?? '443'
  const httpsPort = Number(httpsListen.slice(httpsListen.lastIndexOf(':') + 1))
  return {
    httpsListen,
    httpListen: input.httpListen ?? '80',
    publicOrigin:
      input.publicOrigin ?? `https://${input.serverName}${httpsPort === 443 ? '' : `:${httpsPort}`}`,
    upstreamHost: input.upstreamHost ?? '127.0.0.1',
    upstreamPort: input.upstreamPort ?? NODE_DEFAULTS.external.port,
    bodyLimitBytes: input.bodyLimitBytes ?? NODE_DEFAULTS.bodyLimitBytes,
    rateLimit: input.rateLimit ?? '20r/s',
    rateBurst: input.rateBurst ?? 40,
    internalPort: input.internalPort ?? NODE_DEFAULTS.internal.port,
    serverName: input.serverName,
    tlsCertificate: input.tlsCertificate,
    tlsCertificateKey: input.tlsCertificateKey
  }
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const LISTEN = /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\]):)?(\d{1,5})$/
const ORIGIN = /^https:\/\/(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/
const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]+$/
const RATE = /^[1-9]\d{0,5}r\/[sm]$/

function problemsOf(v: DmnConfValues & { readonly internalPort: number }): string[] {
  const problems: string[] = []
  const port = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65_535
  if (!HOST_NAME.test(v.serverName))
    problems.push(`SERVER_NAME ${JSON.stringify(v.serverName)} is not a host name`)
  for (const [name, value] of [
    ['HTTPS_LISTEN', v.httpsListen],
    ['HTTP_LISTEN', v.httpListen]
  ] as const) {
    const m = LISTEN.exec(value)
    if (!m || !port(Number(m[1]))) problems.push(`${name} ${JSON.stringify(value)} is not [address:]port`)
  }
  if (!ORIGIN.test(v.publicOrigin)) {
    problems.push(`PUBLIC_ORIGIN ${JSON.stringify(v.publicOrigin)} is not an https:// origin without a path`)
  }
  for (const [name, value] of [
    ['TLS_CERTIFICATE', v.tlsCertificate],
    ['TLS_CERTIFICATE_KEY', v.tlsCertificateKey]
  ] as const) {
    if (!isAbsolute(value) || !SAFE_PATH.test(value)) {
      problems.push(`${name} ${JSON.stringify(value)} must be an absolute path of letters, digits and ._/@+-`)
    }
  }
  if (isIP(v.upstreamHost) === 0 && !HOST_NAME.test(v.upstreamHost)) {
    problems.push(`UPSTREAM_HOST ${JSON.stringify(v.upstreamHost)} is not an address or host name`)
  }
  if (!port(v.upstreamPort)) problems.push(`UPSTREAM_PORT ${v.upstreamPort} is not a port`)
  else if (v.upstreamPort === v.internalPort) {
    problems.push(
      `UPSTREAM_PORT ${v.upstreamPort} is the internal API's port; nginx proxies the external API only`
    )
  }
  if (!Number.isInteger(v.bodyLimitBytes) || v.bodyLimitBytes < 1_024) {
    problems.push(`BODY_LIMIT_BYTES ${v.bodyLimitBytes} is not an integer >= 1024`)
  }
  if (!RATE.test(v.rateLimit)) problems.push(`RATE_LIMIT ${JSON.stringify(v.rateLimit)} is not like 20r/s`)
  if (!Number.isInteger(v.rateBurst) || v.rateBurst < 0)
    problems.push(`RATE_BURST ${v.rateBurst} is not an integer >= 0`)
  return problems
}

/** The rendered config; throws NginxTemplateError listing every bad value. */
export function renderDmnConf(input: DmnConfInput, template = readFileSync(TEMPLATE_PATH, 'utf8')): string {
  const v = dmnConfValues(input)
  const problems = problemsOf(v)
  if (problems.length > 0) throw new NginxTemplateError(problems)
  const values: Record<string, string> = {
    SERVER_NAME: v.serverName,
    HTTPS_LISTEN: v.httpsListen,
    HTTP_LISTEN: v.httpListen,
    PUBLIC_ORIGIN: v.publicOrigin,
    TLS_CERTIFICATE: v.tlsCertificate,
    TLS_CERTIFICATE_KEY: v.tlsCertificateKey,
    UPSTREAM_HOST: isIP(v.upstreamHost) === 6 ? `[${v.upstreamHost}]` : v.upstreamHost,
    UPSTREAM_PORT: String(v.upstreamPort),
    BODY_LIMIT_BYTES: String(v.bodyLimitBytes),
    RATE_LIMIT: v.rateLimit,
    RATE_BURST: String(v.rateBurst)
  }
  // Only the directives are filled; the header comment keeps its markers as documentation.
  const body = template.replace(/^(?!\s*#).*$/gm, (line) =>
    line.replace(/\{\{([A-Z_]+)\}\}/g, (marker, name: string) => {
      const value = values[name]
      if (value === undefined) throw new NginxTemplateError([`the template has an unknown value ${marker}`])
      return value
    })
  )
  return body
}

const USAGE = `usage: node nginx/render.ts --server-name NAME --certificate PEM --certificate-key PEM [options]
  --upstream HOST:PORT     the node's external API (127.0.0.1:${NODE_DEFAULTS.external.port})
  --internal-port PORT     the node's internal API port, refused as upstream (${NODE_DEFAULTS.internal.port})
  --https-listen [ADDR:]PORT, --http-listen [ADDR:]PORT   (443, 80)
  --public-origin URL      where HTTP redirects to (https://NAME)
  --body-limit-bytes N     the node's api.bodyLimitBytes (${NODE_DEFAULTS.bodyLimitBytes})
  --rate 20r/s, --burst 40 limit_req per client address
  --out FILE               write there instead of stdout`

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'server-name': { type: 'string' },
      certificate: { type: 'string' },
      'certificate-key': { type: 'string' },
      upstream: { type: 'string' },
      'internal-port': { type: 'string' },
      'https-listen': { type: 'string' },
      'http-listen': { type: 'string' },
      'public-origin': { type: 'string' },
      'body-limit-bytes': { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' }
    }
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const serverName = values['server-name']
  const tlsCertificate = values.certificate
  const tlsCertificateKey = values['certificate-key']
  if (!serverName || !tlsCertificate || !tlsCertificateKey) {
    throw new NginxTemplateError(['--server-name, --certificate and --certificate-key are required'])
  }
  const upstream = values.upstream
  const split = upstream?.lastIndexOf(':') ?? -1
  const optional = (n: string | undefined) => (n === undefined ? undefined : Number(n))
  const rendered = renderDmnConf({
    serverName,
    tlsCertificate,
    tlsCertificateKey,
    ...(upstream !== undefined
      ? split > 0
        ? {
            upstreamHost: upstream.slice(0, split).replace(/^\[(.*)\]$/, '$1'),
            upstreamPort: Number(upstream.slice(split + 1))
          }
        : { upstreamPort: Number(upstream) }
      : {}),
    ...definedOnly({
      internalPort: optional(values['internal-port']),
      httpsListen: values['https-listen'],
      httpListen: values['http-listen'],
      publicOrigin: values['public-origin'],
      bodyLimitBytes: optional(values['body-limit-bytes']),
      rateLimit: values.rate,
      rateBurst: optional(values.burst)
    })
  })
  if (values.out) writeFileSync(values.out, rendered, { mode: 0o644 })
  else process.stdout.write(rendered)
}

function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2))
  } catch (err) {
    const e = err as Error
    const problems = e instanceof ConfigError ? e.problems : [e.message]
    for (const p of problems) process.stderr.write(`render: ${p}\n`)
    process.stderr.write(`${USAGE}\n`)
    process.exitCode = 2
  }
}
