import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { configSchema } from '../../config/index.ts'
import { startNginx } from '../../nginx/harness.ts'
import { renderDmnConf } from '../../nginx/render.ts'

/** Rendering nginx/dmn.conf: defaults taken from the node's config, and values that are refused. */

const REQUIRED = {
  serverName: 'dmn.example.org',
  tlsCertificate: '/etc/ssl/dmn/dmn.example.org.fullchain.pem',
  tlsCertificateKey: '/etc/ssl/dmn/dmn.example.org.key'
}
const RENDER = join(import.meta.dirname, '../../nginx/render.ts')

describe('nginx/dmn.conf rendering', () => {
  it("fills every marked value, with the node's external port and body limit as defaults", () => {
    const conf = renderDmnConf(REQUIRED)
    const node = configSchema.parse({}).api
    const directives = conf.replace(/^\s*#.*$/gm, '')
    expect(directives).not.toMatch(/\{\{/)
    expect(directives).toContain(`server 127.0.0.1:${node.external.port};`)
    expect(directives).toContain(`client_max_body_size ${node.bodyLimitBytes};`)
    expect(directives).toContain('listen 443 ssl http2;')
    expect(directives).toContain('return 308 https://dmn.example.org$request_uri;')
    expect(directives).not.toContain(`:${node.internal.port}`)
  })

  it('puts a non-default HTTPS port into the redirect target', () => {
    const conf = renderDmnConf({ ...REQUIRED, httpsListen: '203.0.113.5:8443' })
    expect(conf).toContain('return 308 https://dmn.example.org:8443$request_uri;')
  })

  it("refuses to proxy the internal API's port", () => {
    expect(() => renderDmnConf({ ...REQUIRED, upstreamPort: 8080 })).toThrow(
      expect.objectContaining({ name: 'NginxTemplateError' })
    )
    expect(() => renderDmnConf({ ...REQUIRED, upstreamPort: 9000, internalPort: 9000 })).toThrow(
      expect.objectContaining({ name: 'NginxTemplateError' })
    )
  })

  it('refuses values that would end a directive, listing every one', () => {
    try {
      renderDmnConf({
        serverName: 'dmn.example.org; include /etc/passwd',
        tlsCertificate: 'relative.pem',
        tlsCertificateKey: '/etc/ssl/key.pem;',
        rateLimit: '10r/s; allow all',
        rateBurst: -1,
        bodyLimitBytes: 10
      })
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({ name: 'NginxTemplateError' })
      const named = (err as { problems: string[] }).problems.map((p) => p.split(' ')[0])
      expect(named).toEqual(
        expect.arrayContaining([
          'SERVER_NAME',
          'TLS_CERTIFICATE',
          'TLS_CERTIFICATE_KEY',
          'RATE_LIMIT',
          'RATE_BURST',
          'BODY_LIMIT_BYTES'
        ])
      )
    }
  })

  it('renders from the command line, and exits 2 naming the bad value', () => {
    const ok = spawnSync(process.execPath, [
      RENDER,
      '--server-name',
      'dmn.example.org',
      '--certificate',
      REQUIRED.tlsCertificate,
      '--certificate-key',
      REQUIRED.tlsCertificateKey,
      '--upstream',
      '127.0.0.1:9081'
    ])
    expect(ok.status).toBe(0)
    expect(String(ok.stdout)).toContain('server 127.0.0.1:9081;')
    const bad = spawnSync(process.execPath, [
      RENDER,
      '--server-name',
      'x',
      '--certificate',
      'a',
      '--certificate-key',
      '/k'
    ])
    expect(bad.status).toBe(2)
    expect(String(bad.stdout)).toBe('')
    expect(String(bad.stderr)).toMatch(/^render: TLS_CERTIFICATE/m)
  })
})

describe('nginx harness', () => {
  it("reports nginx's own error when the config does not load, and leaves no directory behind", async () => {
    const parentDir = mkdtempSync(join(tmpdir(), 'dmn-nginx-parent-'))
    const err = await startNginx({
      upstreamPort: 9,
      serverName: 'dmn.test',
      certificate: '/nonexistent/dmn.test.pem',
      certificateKey: '/nonexistent/dmn.test.key',
      parentDir
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({
      name: 'NginxStartError',
      message: expect.stringContaining('/nonexistent/dmn.test.pem')
    })
    expect(readdirSync(parentDir)).toEqual([])
    rmdirSync(parentDir)
  })
})
