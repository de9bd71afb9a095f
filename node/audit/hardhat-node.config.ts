/**
 * Hardhat config of the embedded chain: no plugins (they are development dependencies) and no
 * project paths, so `hardhat node` neither needs the contracts' toolchain nor writes into the
 * checkout. Artifacts (Hardhat's build-info watch) go to the system's temp directory.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig } from 'hardhat/config'

const scratch = join(tmpdir(), 'dmn-embedded-hardhat')

export default defineConfig({
  paths: { artifacts: join(scratch, 'artifacts'), cache: join(scratch, 'cache') }
})
