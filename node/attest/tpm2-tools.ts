import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ATTESTED_PCR_BANK, ATTESTED_PCRS, TPM_RC_HANDLE_NOT_FOUND } from './constants.ts'
import { TpmCommandError, TpmHandleNotFoundError, TpmUnavailableError } from './errors.ts'

/** Signing scheme of the AK: the key template and the scheme tpm2_quote is asked for. */
export type AkAlgorithm = 'rsassa' | 'rsapss' | 'ecdsa'

export interface Tpm2ToolsInit {
  /** TCTI of the TPM: `device:/dev/tpmrm0`, or `swtpm:host=127.0.0.1,port=2321` in tests. */
  readonly tcti: string
  /** Persistent handle of the AK (owner hierarchy). */
  readonly akHandle: string
  readonly akAlgorithm: AkAlgorithm
  readonly timeoutMs: number
}

/** A quote as the TPM produced it, with the PCR values it covers (attested bank, selection order). */
export interface TpmQuote {
  readonly quote: Uint8Array
  readonly signature: Uint8Array
  readonly pcrValues: ReadonlyMap<number, Uint8Array>
}

const KEY_TEMPLATES: Readonly<Record<AkAlgorithm, string>> = {
  rsassa: 'rsa2048:rsassa-sha256:null',
  rsapss: 'rsa2048:rsapss-sha256:null',
  ecdsa: 'ecc256:ecdsa-sha256:null'
}
// A restricted signing key signs only digests the TPM computed itself (TPM 2.0 Part 1, 25.2.3).
const AK_ATTRIBUTES = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign|noda'
const PCR_LIST = `${ATTESTED_PCR_BANK}:${ATTESTED_PCRS.join(',')}`

/**
 * The TPM as driven through tpm2-tools. Commands run one at a time: a socket TPM (swtpm) serves a
 * single connection, and a hardware TPM gains nothing from concurrent quotes. The AK is a primary
 * key of the owner hierarchy made persistent at `akHandle`, created on first use.
 */
export class Tpm2Tools {
  readonly #init: Tpm2ToolsInit
  #queue: Promise<unknown> = Promise.resolve()

  constructor(init: Tpm2ToolsInit) {
    this.#init = init
  }

  /** The AK's TPM2B_PUBLIC, creating and persisting the AK when the handle is empty. */
  ensureAk(options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.#serial(() =>
      this.#inTemp(async (dir) => {
        const existing = await this.#readAk(dir, options.signal)
        if (existing) return existing
        const ctx = join(dir, 'ak.ctx')
        const template = KEY_TEMPLATES[this.#init.akAlgorithm]
        await this.#run(
          'tpm2_createprimary',
          ['-C', 'o', '-G', template, '-a', AK_ATTRIBUTES, '-c', ctx, '-Q'],
          options.signal
        )
        try {
          await this.#run(
            'tpm2_evictcontrol',
            ['-C', 'o', '-c', ctx, this.#init.akHandle, '-Q'],
            options.signal
          )
        } finally {
          // Without a resource manager (swtpm, /dev/tpm0) the transient primary stays loaded and fills
          // the TPM's few object slots; behind /dev/tpmrm0 this flushes only this connection's objects.
          await this.#run('tpm2_flushcontext', ['-t'], options.signal)
        }
        const created = await this.#readAk(dir, options.signal)
        if (!created) throw new TpmCommandError(`the AK at ${this.#init.akHandle} is missing after creation`)
        return created
      })
    )
  }

  /** The AK's TPM2B_PUBLIC, or undefined when the handle holds no object. */
  readAk(options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    return this.#serial(() => this.#inTemp((dir) => this.#readAk(dir, options.signal)))
  }

  /** A quote over sha256:0,7,10 with `qualifyingData`, signed by the AK. */
  quote(qualifyingData: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<TpmQuote> {
    return this.#serial(() =>
      this.#inTemp(async (dir) => {
        const [message, signature, pcrs] = ['quote.bin', 'sig.bin', 'pcrs.bin'].map((f) => join(dir, f)) as [
          string,
          string,
          string
        ]
        const scheme = this.#init.akAlgorithm
        await this.#run(
          'tpm2_quote',
          [
            '-c',
            this.#init.akHandle,
            '-l',
            PCR_LIST,
            '-q',
            Buffer.from(qualifyingData).toString('hex'),
            '-m',
            message,
            '-s',
            signature,
            '-o',
            pcrs,
            '-F',
            'values',
            '-g',
            'sha256',
            '--scheme',
            scheme,
            '-Q'
          ],
          options.signal
        )
        const values = await readFile(pcrs)
        if (values.byteLength !== 32 * ATTESTED_PCRS.length)
          throw new TpmCommandError(`tpm2_quote wrote ${values.byteLength} bytes of PCR values`)
        const pcrValues = new Map(ATTESTED_PCRS.map((pcr, i) => [pcr, values.subarray(32 * i, 32 * (i + 1))]))
        return { quote: await readFile(message), signature: await readFile(signature), pcrValues }
      })
    )
  }

  /** The current values of the attested PCRs (for `dmn attest baseline`). */
  pcrRead(options: { signal?: AbortSignal } = {}): Promise<Map<number, Uint8Array>> {
    return this.#serial(() =>
      this.#inTemp(async (dir) => {
        const out = join(dir, 'pcrs.bin')
        await this.#run('tpm2_pcrread', [PCR_LIST, '-o', out, '-Q'], options.signal)
        const values = await readFile(out)
        if (values.byteLength !== 32 * ATTESTED_PCRS.length)
          throw new TpmCommandError(`tpm2_pcrread wrote ${values.byteLength} bytes`)
        return new Map(ATTESTED_PCRS.map((pcr, i) => [pcr, values.subarray(32 * i, 32 * (i + 1))]))
      })
    )
  }

  async #readAk(dir: string, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    const out = join(dir, 'ak.pub')
    try {
      await this.#run('tpm2_readpublic', ['-c', this.#init.akHandle, '-f', 'tss', '-o', out, '-Q'], signal)
    } catch (err) {
      if (err instanceof TpmHandleNotFoundError) return undefined
      throw err
    }
    return readFile(out)
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }

  async #inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'dmn-tpm-'))
    try {
      return await fn(dir)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  #run(tool: string, args: string[], signal: AbortSignal | undefined): Promise<void> {
    const env = { ...process.env, TPM2TOOLS_TCTI: this.#init.tcti }
    return new Promise((resolve, reject) => {
      execFile(
        tool,
        args,
        { env, timeout: this.#init.timeoutMs, signal, encoding: 'utf8' },
        (err, _out, stderr) => {
          if (!err) return resolve()
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ENOENT')
            return reject(new TpmUnavailableError(`${tool} is not installed`, { cause: err }))
          const detail = stderr
            .split('\n')
            .filter((l) => l.startsWith('ERROR'))
            .slice(0, 3)
            .join(' | ')
          if (/Could not load tcti|Failed to instantiate TCTI/i.test(stderr))
            return reject(new TpmUnavailableError(`no TPM at ${this.#init.tcti}: ${detail}`, { cause: err }))
          // tpm2-tools prints the TPM's response code; this one is an empty handle, not a failure.
          if (stderr.includes(TPM_RC_HANDLE_NOT_FOUND))
            return reject(
              new TpmHandleNotFoundError(`${tool} failed: ${detail || err.message}`, { cause: err })
            )
          reject(new TpmCommandError(`${tool} failed: ${detail || err.message}`, { cause: err }))
        }
      )
    })
  }
}
