import { createServer, type Server } from 'node:net'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../config/index.ts'
import { ApiListenError } from '../api/errors.ts'
import { ConfigError, PortUnavailableError } from './core/errors.ts'
import { checkListenPorts, translateListenError } from './listen-ports.ts'

let held: Server[] = []
afterEach(async () => {
  await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))))
  held = []
})

/** Takes a free port on 127.0.0.1 and keeps it, as another program would. */
async function takePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  held.push(server)
  return (server.address() as { port: number }).port
}

const configWith = (env: Record<string, string>) =>
  loadConfig({
    env: {
      DMN_P2P_HOST: '127.0.0.1',
      DMN_P2P_PORT: '0',
      DMN_API_INTERNAL_PORT: '0',
      DMN_API_EXTERNAL_HOST: '127.0.0.1',
      DMN_API_EXTERNAL_PORT: '0',
      ...env
    }
  })

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: unknown) => err
  )
}

describe('checkListenPorts', () => {
  it('names the setting and variable of each taken port', async () => {
    const port = await takePort()
    for (const [variable, setting] of [
      ['DMN_P2P_PORT', 'p2p.port'],
      ['DMN_API_INTERNAL_PORT', 'api.internal.port'],
      ['DMN_API_EXTERNAL_PORT', 'api.external.port'],
      ['DMN_CHAIN_EMBEDDED_PORT', 'chain.embeddedPort']
    ] as const) {
      const err = await rejection(checkListenPorts(configWith({ [variable]: String(port) })))
      expect(err).toBeInstanceOf(PortUnavailableError)
      expect(err).toMatchObject({ name: 'PortUnavailableError', setting, port, code: 'EADDRINUSE' })
      expect((err as Error).message).toContain(`set ${variable} (${setting})`)
    }
  })

  it('passes free ports and never checks port 0', async () => {
    await expect(checkListenPorts(configWith({}))).resolves.toBeUndefined()
  })

  it('refuses two of its own listeners on one port as a configuration error', async () => {
    const err = await rejection(
      checkListenPorts(configWith({ DMN_P2P_PORT: '45111', DMN_API_EXTERNAL_PORT: '45111' }))
    )
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).problems).toEqual([expect.stringContaining('p2p.port and api.external.port')])
  })
})

describe('translateListenError', () => {
  it("turns libp2p's listen failure on a port taken after the check into PortUnavailableError", async () => {
    const port = await takePort()
    const node = await createLibp2p({
      start: false,
      addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] },
      transports: [tcp()]
    })
    const err = await rejection(Promise.resolve().then(() => node.start()))
    await node.stop()
    expect((err as Error).name).toBe('UnsupportedListenAddressesError')
    const translated = await translateListenError(err, configWith({ DMN_P2P_PORT: String(port) }))
    expect(translated).toMatchObject({
      name: 'PortUnavailableError',
      setting: 'p2p.port',
      code: 'EADDRINUSE'
    })
    expect((translated as Error).cause).toBe(err)
  })

  it("turns the API server's EADDRINUSE into PortUnavailableError for that API's port", async () => {
    const port = await takePort()
    const server = createServer()
    const cause = await new Promise<Error>((resolve) => {
      server.once('error', resolve)
      server.listen(port, '127.0.0.1')
    })
    const err = new ApiListenError('an API cannot listen', { cause })
    const translated = await translateListenError(err, configWith({ DMN_API_EXTERNAL_PORT: String(port) }))
    expect(translated).toMatchObject({
      name: 'PortUnavailableError',
      setting: 'api.external.port',
      code: 'EADDRINUSE'
    })
  })

  it('leaves other errors as they are', async () => {
    const other = new Error('something else')
    expect(await translateListenError(other, configWith({}))).toBe(other)
  })
})
