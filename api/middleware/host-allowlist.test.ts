import { describe, expect, it } from 'vitest'
import { type HostBindingInit, hostAllowlist, parseAllowedHost, parseAuthority } from './host-allowlist.ts'

function allows(init: Partial<HostBindingInit> & Pick<HostBindingInit, 'host' | 'address'>) {
  const check = hostAllowlist({ port: 8080, allowedHosts: [], ...init })
  return (host: string) => {
    const authority = parseAuthority(host)
    return authority !== undefined && check(authority)
  }
}

describe('parseAuthority', () => {
  it('parses names, IPv4 and bracketed IPv6 with and without a port', () => {
    expect(parseAuthority('LocalHost:8080')).toEqual({ host: 'localhost', port: 8080, ip: 0 })
    expect(parseAuthority('127.0.0.1')).toEqual({ host: '127.0.0.1', port: 80, ip: 4 })
    expect(parseAuthority('[0:0:0:0:0:0:0:1]:8080')).toEqual({ host: '[::1]', port: 8080, ip: 6 })
  })

  it('refuses what is not a Host value', () => {
    for (const text of [
      '',
      ' ',
      'user@host',
      'host/path',
      'host:99999',
      'host:port',
      '::1',
      '[zz::1]',
      'a b',
      '-x'
    ]) {
      expect(parseAuthority(text), text).toBeUndefined()
    }
  })
})

describe('hostAllowlist', () => {
  it('bound to loopback: the address and the localhost forms at the bound port only', () => {
    const ok = allows({ host: '127.0.0.1', address: '127.0.0.1' })
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST:8080', '[::1]:8080']) {
      expect(ok(host), host).toBe(true)
    }
    for (const host of [
      'rebind.evil.example:8080',
      '127.0.0.1:8081',
      '127.0.0.1',
      'localhost',
      'localhost.:8080',
      '127.0.0.2:8080',
      '10.0.0.1:8080',
      '2130706433:8080'
    ]) {
      expect(ok(host), host).toBe(false)
    }
  })

  it('bound to localhost (an IPv6 loopback address): all loopback forms', () => {
    const ok = allows({ host: 'localhost', address: '::1' })
    for (const host of ['localhost:8080', '[::1]:8080', '127.0.0.1:8080']) expect(ok(host), host).toBe(true)
    expect(ok('evil.example:8080')).toBe(false)
  })

  it('bound to one other address: that address only, not localhost', () => {
    const ok = allows({ host: '10.0.0.5', address: '10.0.0.5' })
    expect(ok('10.0.0.5:8080')).toBe(true)
    expect(ok('10.0.0.6:8080')).toBe(false)
    expect(ok('localhost:8080')).toBe(false)
  })

  it('bound to a name: that name and the address it resolved to', () => {
    const ok = allows({ host: 'Node1.lan', address: '10.0.0.5' })
    expect(ok('node1.lan:8080')).toBe(true)
    expect(ok('10.0.0.5:8080')).toBe(true)
    expect(ok('node2.lan:8080')).toBe(false)
  })

  it('bound to every interface: any IP literal and localhost at the bound port, names only when configured', () => {
    for (const address of ['0.0.0.0', '::']) {
      const ok = allows({ host: address, address, allowedHosts: ['node1.lan'] })
      for (const host of [
        '10.1.2.3:8080',
        '192.168.1.9:8080',
        '[fe80::1]:8080',
        'localhost:8080',
        'node1.lan:8080'
      ]) {
        expect(ok(host), `${address} ${host}`).toBe(true)
      }
      for (const host of ['10.1.2.3:8081', '10.1.2.3', 'node2.lan:8080', 'rebind.evil.example:8080']) {
        expect(ok(host), `${address} ${host}`).toBe(false)
      }
    }
  })

  it('allows configured hosts at the bound port, or at their own port when they name one', () => {
    const ok = allows({
      host: '127.0.0.1',
      address: '127.0.0.1',
      allowedHosts: ['dmn.test', 'Tunnel.example:9000', '[::1]:9001']
    })
    expect(ok('dmn.test:8080')).toBe(true)
    expect(ok('dmn.test:9000')).toBe(false)
    expect(ok('tunnel.example:9000')).toBe(true)
    expect(ok('tunnel.example:8080')).toBe(false)
    expect(ok('[::1]:9001')).toBe(true)
  })

  it('refuses a configured host that is not name[:port]', () => {
    for (const entry of ['*', 'http://dmn.test', 'dmn.test/', 'dmn.test:0', '::1']) {
      expect(() => parseAllowedHost(entry), entry).toThrow(TypeError)
      expect(
        () => hostAllowlist({ host: '127.0.0.1', address: '127.0.0.1', port: 1, allowedHosts: [entry] }),
        entry
      ).toThrow(TypeError)
    }
  })
})
