import { describe, expect, it } from 'vitest'
import { buildProgram, commandNameOf } from './program.ts'

describe('commandNameOf', () => {
  it('finds the command after global options, skipping option values', () => {
    expect(commandNameOf(['start'])).toBe('start')
    expect(commandNameOf(['-d', '/tmp/x', '--log-level', 'debug', 'db', 'status'])).toBe('db')
    expect(commandNameOf(['--config', 'start', 'config', 'show'])).toBe('config')
    expect(commandNameOf(['--verbose', 'keys', 'rotate'])).toBe('keys')
    expect(commandNameOf(['--env-file', 'start', 'id'])).toBe('id')
    expect(commandNameOf(['--help'])).toBeUndefined()
  })
})

describe('buildProgram', () => {
  it('registers only the named command, and every command for help or an unknown name', async () => {
    const names = async (args: string[]) => (await buildProgram(args)).program.commands.map((c) => c.name())
    expect(await names(['config', 'show'])).toEqual(['config', 'help'])
    expect(await names(['help', 'db'])).toEqual(['db', 'help'])
    expect(await names(['help', 'help'])).toEqual(['help'])
    expect(await names(['--version'])).toEqual(['help'])
    const all = await names(['--help'])
    expect(all).toEqual(
      expect.arrayContaining([
        'start',
        'demo',
        'config',
        'db',
        'keys',
        'cert',
        'peers',
        'shares',
        'chain',
        'audit',
        'apikeys',
        'webhooks',
        'test',
        'bench'
      ])
    )
    expect(await names(['frobnicate'])).toEqual(all)
  })
})
