import { describe, expect, it } from 'vitest'
import { Lifecycle, type Startable } from './lifecycle.ts'

function recorder() {
  const events: string[] = []
  const component = (name: string, failStart = false): Startable => ({
    name,
    async start() {
      await Promise.resolve()
      if (failStart) throw new Error(`${name} cannot start`)
      events.push(`start ${name}`)
    },
    stop() {
      events.push(`stop ${name}`)
    }
  })
  return { events, component }
}

describe('Lifecycle', () => {
  it('starts in order and stops in reverse', async () => {
    const { events, component } = recorder()
    const lifecycle = new Lifecycle([component('store'), component('p2p'), component('api')])
    await lifecycle.start()
    await lifecycle.stop()
    expect(events).toEqual(['start store', 'start p2p', 'start api', 'stop api', 'stop p2p', 'stop store'])
  })

  it('stops what already started when a later component fails, and rethrows', async () => {
    const { events, component } = recorder()
    const lifecycle = new Lifecycle([component('store'), component('p2p', true), component('api')])
    await expect(lifecycle.start()).rejects.toThrow('p2p cannot start')
    expect(events).toEqual(['start store', 'stop store'])
  })

  it('keeps stopping the rest when one stop fails, and reports it', async () => {
    const { events, component } = recorder()
    const failed: string[] = []
    const broken: Startable = {
      name: 'broken',
      start() {},
      stop() {
        throw new Error('stuck')
      }
    }
    const lifecycle = new Lifecycle([component('store'), broken, component('api')], {
      onStopFailed: (name) => failed.push(name)
    })
    await lifecycle.start()
    await lifecycle.stop()
    expect(events).toEqual(['start store', 'start api', 'stop api', 'stop store'])
    expect(failed).toEqual(['broken'])
  })

  it('stops each component once when stop is called twice', async () => {
    const { events, component } = recorder()
    const lifecycle = new Lifecycle([component('store')])
    await lifecycle.start()
    await Promise.all([lifecycle.stop(), lifecycle.stop()])
    await lifecycle.stop()
    expect(events).toEqual(['start store', 'stop store'])
  })
})
