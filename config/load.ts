import { readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import type { z } from 'zod'
import { AnchorPeerAddressError, ConfigError } from '../node/core/errors.ts'
import { multiaddrForAnchorPeer } from './anchor-peers.ts'
import { ENV_BINDINGS, ENV_NON_SETTINGS, type EnvBinding } from './env.ts'
import type { EnvFile } from './env-file.ts'
import { type Config, configSchema, DEFAULT_P2P_PORT, SECRET_PATHS } from './schema.ts'

export interface LoadConfigOptions {
  /** A JSON config file; defaults to `DMN_CONFIG` when that is set. */
  readonly file?: string
  /** The environment to read; `process.env` unless given (tests pass their own). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Variables from an env file (`readEnvFile`): read like the environment, which wins over them. */
  readonly envFile?: EnvFile
  /** Values that win over everything else (CLI flags). */
  readonly overrides?: Readonly<Record<string, unknown>>
}

type Raw = Record<string, unknown>

/**
 * Builds the node's configuration from defaults, an optional JSON file, an optional env file and the
 * environment, in that order of precedence (later wins), validates it, and returns a deeply frozen
 * object. Every problem found is listed in one `ConfigError`.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env
  const fromFile = options.envFile?.values ?? {}
  const problems: string[] = []
  const sources = new Map<string, string>()

  const file = options.file ?? nonEmpty(env['DMN_CONFIG']) ?? fromFile['DMN_CONFIG']
  const raw: Raw = file === undefined || file === '' ? {} : readConfigFile(file, problems)
  if (file) for (const path of leafPaths(raw)) sources.set(path, resolve(file))

  const inFile = options.envFile ? ` in ${options.envFile.path}` : ''
  for (const binding of ENV_BINDINGS) {
    // Any name set in the environment wins over every name in the file.
    const set = firstSet(binding, env)
    const hit = set ?? firstSet(binding, fromFile)
    if (hit === undefined) continue
    setPath(raw, binding.path, parseEnvValue(binding, hit.value))
    sources.set(binding.path, set ? hit.name : `${hit.name}${inFile}`)
  }
  for (const [names, where] of [
    [Object.keys(env), ''],
    [Object.keys(fromFile), inFile]
  ] as const) {
    for (const name of names) {
      if (!name.startsWith('DMN_') || ENV_NON_SETTINGS.includes(name)) continue
      if (!ENV_BINDINGS.some((b) => b.names.includes(name)))
        problems.push(`${name}${where}: not a setting of this node`)
    }
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue
    setPath(raw, path, value)
    sources.set(path, 'command line')
  }

  const anchorPeers = anchorPeerProblems(raw, sources)
  const parsed = configSchema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // An anchor-form peer gets its own problem line, with the multiaddr to write.
      if (
        issue.path[0] === 'p2p' &&
        issue.path[1] === 'bootstrap' &&
        anchorPeers.indices.has(Number(issue.path[2]))
      )
        continue
      problems.push(describeIssue(issue, sources))
    }
  }
  problems.push(...anchorPeers.problems)
  if (anchorPeers.peers.length > 0) throw new AnchorPeerAddressError(problems, anchorPeers.peers)
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems)
  const config = withPasswordFromFile(parsed.data, env['CREDENTIALS_DIRECTORY'], sources, problems)
  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze(config)
}

/**
 * `masterPasswordFile` read into `masterPassword`: the password stays out of the environment and
 * the unit file (systemd's `LoadCredential=` puts it in `$CREDENTIALS_DIRECTORY`, where a relative
 * name is looked up). One final line break is dropped, as `echo` and editors leave one.
 */
function withPasswordFromFile(
  config: Config,
  credentialsDirectory: string | undefined,
  sources: Map<string, string>,
  problems: string[]
): Config {
  const file = config.masterPasswordFile
  if (file === undefined) return config
  const from = (path: string) => (sources.has(path) ? ` (from ${sources.get(path)})` : '')
  if (config.masterPassword !== undefined) {
    problems.push(
      `masterPasswordFile${from('masterPasswordFile')}: masterPassword is set too${from('masterPassword')}; set only one of them`
    )
    return config
  }
  const path = isAbsolute(file)
    ? file
    : credentialsDirectory
      ? join(credentialsDirectory, file)
      : resolve(file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    problems.push(
      `masterPasswordFile${from('masterPasswordFile')}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`
    )
    return config
  }
  const password = text.replace(/\r?\n$/, '')
  if (password === '') {
    problems.push(`masterPasswordFile${from('masterPasswordFile')}: ${path} is empty`)
    return config
  }
  return { ...config, masterPassword: password }
}

function anchorPeerProblems(raw: Raw, sources: Map<string, string>) {
  const found = {
    problems: [] as string[],
    peers: [] as { given: string; multiaddr: string }[],
    indices: new Set<number>()
  }
  const list = getPath(raw, 'p2p.bootstrap')
  if (!Array.isArray(list)) return found
  const source = sources.get('p2p.bootstrap')
  list.forEach((entry, i) => {
    if (typeof entry !== 'string' || entry.startsWith('/')) return
    const multiaddr = multiaddrForAnchorPeer(entry, DEFAULT_P2P_PORT)
    if (multiaddr === undefined) return
    found.indices.add(i)
    found.peers.push({ given: entry, multiaddr })
    found.problems.push(
      `p2p.bootstrap.${i}${source ? ` (from ${source})` : ''}: ${JSON.stringify(entry)} is a host:port peer as DataMgmt Node (Python) writes them, which libp2p cannot dial; write the multiaddr ${multiaddr}, with /p2p/<PeerId> appended to pin the peer (the port is the peer's libp2p port, ${DEFAULT_P2P_PORT} by default)`
    )
  })
  return found
}

/** A copy of `config` fit to show or log: every secret replaced by `[redacted]`. */
export function redactConfig(config: Config): Raw {
  const copy = structuredClone(config) as Raw
  for (const path of SECRET_PATHS) {
    if (getPath(copy, path) !== undefined) setPath(copy, path, '[redacted]')
  }
  return copy
}

function readConfigFile(file: string, problems: string[]): Raw {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`config file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return {}
  }
  try {
    const value: unknown = JSON.parse(text)
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Raw
    problems.push(`config file ${file}: expected a JSON object at the top level`)
  } catch (err) {
    problems.push(`config file ${file}: not valid JSON (${(err as Error).message})`)
  }
  return {}
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}

function firstSet(binding: EnvBinding, env: LoadConfigOptions['env'] & object) {
  for (const name of binding.names) {
    const value = env[name]
    if (value !== undefined && value !== '') return { name, value }
  }
  return undefined
}

function parseEnvValue(binding: EnvBinding, value: string): unknown {
  switch (binding.kind) {
    case 'number': {
      const n = Number(value.trim())
      // Leave it a string so the schema reports it with its source name.
      return value.trim() !== '' && Number.isFinite(n) ? n : value
    }
    case 'list':
      return value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '')
    case 'string':
      return value
  }
}

function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>): string {
  const path = issue.path.join('.')
  const where = path === '' ? 'config' : path
  let source = sources.get(path)
  // An issue on a list element (p2p.bootstrap.0) comes from the list's source.
  for (let i = issue.path.length - 1; source === undefined && i > 0; i--) {
    source = sources.get(issue.path.slice(0, i).join('.'))
  }
  const keys = issue.code === 'unrecognized_keys' ? ` ${issue.keys.join(', ')}` : ''
  return `${where}${source ? ` (from ${source})` : ''}: ${issue.message}${keys}`
}

function leafPaths(obj: Raw, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([key, value]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? [path, ...leafPaths(value as Raw, path)]
      : [path]
  })
}

function setPath(obj: Raw, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = obj
  for (const key of keys.slice(0, -1)) {
    const next = node[key]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {}
    node = node[key] as Raw
  }
  node[keys[keys.length - 1] as string] = value
}

function getPath(obj: Raw, path: string): unknown {
  let node: unknown = obj
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Raw)[key]
  }
  return node
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
