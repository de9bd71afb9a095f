import { createServer } from 'node:net'
import { type Config, ENV_BINDINGS } from '../config/index.ts'
import { ConfigError, PortUnavailableError } from './core/errors.ts'

/**
 * The ports a node listens on, checked before the slow part of a start (key ring PBKDF2, chain), so
 * a second node on a taken port says in one line which setting to change instead of failing seconds
 * later with libp2p's or Node's message. Port 0 (the system picks one) is never checked.
 */

/** One configured listener: what it is and the settings that place it. */
export interface ListenPort {
  readonly what: string
  readonly host: string
  readonly port: number
  readonly portSetting: string
  /** Absent when the host is fixed (the embedded chain is always on loopback). */
  readonly hostSetting?: string
}

/** libp2p's error when it cannot listen on a configured address (its message advises `faultTolerance`). */
const LIBP2P_LISTEN_ERROR = 'UnsupportedListenAddressesError'
/** The API server's error when a socket cannot listen (api/errors.ts). */
const API_LISTEN_ERROR = 'ApiListenError'
/** Hosts that take a port on every address, so they overlap with any other host. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::'])

/** Every listener of `config`, port 0 included. */
export function listenPorts(config: Config): ListenPort[] {
  const { p2p, api, chain } = config
  const ports: ListenPort[] = [
    { what: 'p2p', host: p2p.host, port: p2p.port, portSetting: 'p2p.port', hostSetting: 'p2p.host' },
    {
      what: 'internal API',
      host: api.internal.host,
      port: api.internal.port,
      portSetting: 'api.internal.port',
      hostSetting: 'api.internal.host'
    },
    {
      what: 'external API',
      host: api.external.host,
      port: api.external.port,
      portSetting: 'api.external.port',
      hostSetting: 'api.external.host'
    }
  ]
  // The embedded chain runs only without an RPC URL, and always on loopback.
  if (chain.rpcUrl === undefined)
    ports.push({
      what: 'embedded chain',
      host: '127.0.0.1',
      port: chain.embeddedPort,
      portSetting: 'chain.embeddedPort'
    })
  return ports
}

/**
 * Throws a `ConfigError` when two listeners of `config` share a port on overlapping hosts, and a
 * `PortUnavailableError` for the first port that cannot be listened on now.
 */
export async function checkListenPorts(config: Config): Promise<void> {
  const ports = listenPorts(config).filter((p) => p.port !== 0)
  const clashes: string[] = []
  for (const [i, a] of ports.entries()) {
    for (const b of ports.slice(i + 1)) {
      if (a.port === b.port && overlap(a.host, b.host))
        clashes.push(`${a.portSetting} and ${b.portSetting} are both ${a.port}: give each its own port`)
    }
  }
  if (clashes.length > 0) throw new ConfigError(clashes)
  for (const port of ports) {
    const code = await probe(port.host, port.port)
    if (code !== undefined) throw unavailable(port, code)
  }
}

/**
 * Translates a listen failure of a starting node (a port taken between the check and the listen)
 * into `PortUnavailableError`; other errors are returned as they are.
 */
export async function translateListenError(err: unknown, config: Config): Promise<unknown> {
  if (!(err instanceof Error)) return err
  const ports = listenPorts(config)
  let port: ListenPort | undefined
  if (err.name === LIBP2P_LISTEN_ERROR) port = ports.find((p) => p.portSetting === 'p2p.port')
  else if (err.name === API_LISTEN_ERROR) {
    const cause = err.cause as { port?: unknown; code?: unknown } | undefined
    port = ports.find((p) => p.portSetting.startsWith('api.') && p.port !== 0 && p.port === cause?.port)
    if (port && typeof cause?.code === 'string') return unavailable(port, cause.code, err)
  }
  if (port === undefined) return err
  // libp2p keeps the system error only in its message text: probing again finds the code.
  const code = port.port === 0 ? undefined : await probe(port.host, port.port)
  return unavailable(port, code, err)
}

function overlap(a: string, b: string): boolean {
  return a === b || WILDCARD_HOSTS.has(a) || WILDCARD_HOSTS.has(b)
}

/** Listens on host:port and closes again: the error code if that failed, else undefined. */
function probe(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    // exclusive: a port held by another process of a cluster counts as taken, as it does for libp2p.
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}

function variable(setting: string): string {
  const names = ENV_BINDINGS.find((b) => b.path === setting)?.names ?? []
  return names[0] === undefined ? setting : `${names[0]} (${setting})`
}

function unavailable(port: ListenPort, code: string | undefined, cause?: unknown): PortUnavailableError {
  const at = `${port.what} port ${port.port} on ${port.host}`
  const change = `set ${variable(port.portSetting)}`
  let message: string
  switch (code) {
    case 'EADDRINUSE':
      message = `${at} is already in use (another node or program): ${change} to a free port`
      break
    case 'EACCES':
      message = `${at} needs privileges this process lacks: ${change} to a port above 1023`
      break
    case 'EADDRNOTAVAIL':
      message = `${port.what} host ${port.host} is not an address of this machine: set ${variable(port.hostSetting ?? port.portSetting)}`
      break
    default:
      message = `${at} cannot be listened on${code ? ` (${code})` : ''}: ${change}${port.hostSetting ? ` or ${variable(port.hostSetting)}` : ''}`
  }
  return new PortUnavailableError(
    message,
    { setting: port.portSetting, host: port.host, port: port.port, code },
    cause === undefined ? undefined : { cause }
  )
}
