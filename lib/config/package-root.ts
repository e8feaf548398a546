// Finds the installed package's root directory (where etc/ and package.json live), from source or from dist/.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'etc'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('s3bridge: cannot find the package root (package.json beside etc/)')
    dir = up
  }
  return dir
}
