import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The repository root (where package.json lives). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version
