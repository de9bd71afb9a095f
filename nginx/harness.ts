import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DmnError } from '../node/core/errors.ts'
import { type DmnConfInput, renderDmnConf } from './render.ts'

/**
 * The test harness of nginx/dmn.conf: real nginx (Debian's /usr/sbin/nginx) as a child process,
 * with the template rendered for 127.0.0.1 and free ports, and every path nginx writes (pid, logs,
 * temp files) inside its own temporary directory. A guard shell stops nginx when `stop()` is called
 * or when this process dies, so no nginx outlives its test.
 */

export const NGINX_BINARY = process.env['DMN_NGINX_BINARY'] ?? '/usr/sbin/nginx'

/** nginx did not start (bad config, missing binary, or no free port after a few tries). */
export class NginxStartError extends DmnError {
  override name = 'NginxStartError'
}

/** nginx could not bind a port it was given: another process took it after it was probed. */
export class NginxPortInUseError extends NginxStartError {
  override name = 'NginxPortInUseError'
}

export interface NginxHarnessInit
  extends Pick<DmnConfInput, 'rateLimit' | 'rateBurst' | 'bodyLimitBytes' | 'upstreamHost'> {
  readonly upstreamPort: number
  readonly serverName: string
  readonly certificate: string
  readonly certificateKey: string
  readonly startTimeoutMs?: number
  /** Where the instance's own temporary directory is made (the system's temp dir by default). */
  readonly parentDir?: string
  readonly signal?: AbortSignal
}

export interface RunningNginx {
  readonly dir: string
  readonly httpsPort: number
  readonly httpPort: number
  /** The rendered nginx/dmn.conf this instance runs. */
  readonly conf: string
  errorLog(): string
  stop(): Promise<void>
}

// Another process can take a probed port before nginx binds it; a fresh pair is tried then.
const START_ATTEMPTS = 3

export async function startNginx(init: NginxHarnessInit): Promise<RunningNginx> {
  let last: unknown
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(init)
    } catch (err) {
      last = err
      if (!(err instanceof NginxPortInUseError)) throw err
    }
  }
  throw last
}

async function startOnce(init: NginxHarnessInit): Promise<RunningNginx> {
  init.signal?.throwIfAborted()
  const dir = mkdtempSync(join(init.parentDir ?? tmpdir(), 'dmn-nginx-'))
  // Started as root, nginx runs its workers as an unprivileged user that must reach the temp paths.
  chmodSync(dir, 0o711)
  let child: ChildProcess | undefined
  try {
    const [httpsPort, httpPort] = (await freePorts(2)) as [number, number]
    const conf = renderDmnConf({
      serverName: init.serverName,
      tlsCertificate: init.certificate,
      tlsCertificateKey: init.certificateKey,
      httpsListen: `127.0.0.1:${httpsPort}`,
      httpListen: `127.0.0.1:${httpPort}`,
      upstreamPort: init.upstreamPort,
      ...(init.upstreamHost !== undefined ? { upstreamHost: init.upstreamHost } : {}),
      ...(init.rateLimit !== undefined ? { rateLimit: init.rateLimit } : {}),
      ...(init.rateBurst !== undefined ? { rateBurst: init.rateBurst } : {}),
      ...(init.bodyLimitBytes !== undefined ? { bodyLimitBytes: init.bodyLimitBytes } : {}),
      // The upstream is on a free port; the internal-port guard has nothing to compare against.
      internalPort: 0
    })
    writeFileSync(join(dir, 'dmn.conf'), conf)
    writeFileSync(join(dir, 'nginx.conf'), mainConf(dir))
    // `wait -n` returns when nginx exits by itself (a bad config) or stdin closes (stop, or this
    // process died); either way nginx is stopped before the guard exits with nginx's status.
    const guard =
      'exec 3<&0; "$0" "$@" </dev/null & n=$!; cat <&3 >/dev/null & c=$!; ' +
      'wait -n $n $c; kill -TERM $n 2>/dev/null; wait $n; s=$?; kill $c 2>/dev/null; exit $s'
    const spawned = spawn('bash', ['-c', guard, NGINX_BINARY, '-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: ['pipe', 'ignore', 'pipe']
    })
    child = spawned
    let stderr = ''
    spawned.stderr?.on('data', (chunk) => {
      stderr += String(chunk)
    })
    const exited = new Promise<number | null>((resolve) => spawned.once('exit', (code) => resolve(code)))
    await untilListening(
      httpsPort,
      exited,
      () => stderr || readLog(dir),
      init.startTimeoutMs ?? 10_000,
      init.signal
    )
    let stopping: Promise<void> | undefined
    return {
      dir,
      httpsPort,
      httpPort,
      conf,
      errorLog: () => readLog(dir),
      stop: () => {
        stopping ??= stopGuard(spawned, exited, dir)
        return stopping
      }
    }
  } catch (err) {
    if (child) await stopGuard(child, new Promise((r) => child?.once('exit', r)), dir)
    else rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

function mainConf(dir: string): string {
  const root = process.getuid?.() === 0
  const group = root && /^nogroup:/m.test(readFileSafe('/etc/group')) ? 'nogroup' : 'nobody'
  return [
    root ? `user nobody ${group};` : '',
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 512; }',
    'http {',
    `  access_log ${join(dir, 'access.log')};`,
    `  client_body_temp_path ${join(dir, 'client_body')};`,
    `  proxy_temp_path ${join(dir, 'proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
    `  scgi_temp_path ${join(dir, 'scgi')};`,
    `  include ${join(dir, 'dmn.conf')};`,
    '}',
    ''
  ].join('\n')
}

async function stopGuard(child: ChildProcess, exited: Promise<unknown>, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.stdin?.end()
    const timer = setTimeout(() => {
      // The guard did not stop nginx in time: kill the master by its pid file, then the guard.
      const pid = Number(readFileSafe(join(dir, 'nginx.pid')).trim())
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
      child.kill('SIGKILL')
    }, 5_000)
    await exited
    clearTimeout(timer)
  }
  rmSync(dir, { recursive: true, force: true })
}

async function untilListening(
  port: number,
  exited: Promise<number | null>,
  diagnostics: () => string,
  timeoutMs: number,
  signal: AbortSignal | undefined
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let gone = false
  void exited.then(() => {
    gone = true
  })
  for (;;) {
    if (gone) {
      const detail = diagnostics().trim()
      // nginx's bind error (EADDRINUSE), as it writes it to stderr or its error log.
      if (detail.includes('Address already in use'))
        throw new NginxPortInUseError(`nginx exited at start: ${detail}`)
      throw new NginxStartError(`nginx exited at start: ${detail}`)
    }
    if (await accepts(port)) return
    if (Date.now() > deadline) throw new NginxStartError(`nginx did not listen within ${timeoutMs} ms`)
    signal?.throwIfAborted()
    await new Promise((r) => setTimeout(r, 25))
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(1_000)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** Ports free on 127.0.0.1 right now (held together so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        })
    )
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

function readLog(dir: string): string {
  return readFileSafe(join(dir, 'error.log'))
}

function readFileSafe(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : ''
}
