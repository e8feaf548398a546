// Starts bench/daemon-child.js as a child process (optionally under --cpu-prof) and waits for its endpoint.
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ChildSpec } from './daemon-child.js'

export interface BridgedChild {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
  pid: number
  stop (): Promise<void>
}

const CHILD = fileURLToPath(new URL('./daemon-child.js', import.meta.url))

export async function startBridged (spec: ChildSpec, opts: { cpuProfDir?: string, env?: NodeJS.ProcessEnv } = {}): Promise<BridgedChild> {
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []
  const devnull = openSync('/dev/null', 'w')
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, CHILD, JSON.stringify(spec)], {
    stdio: ['ignore', devnull, 'inherit', 'pipe'],
    env: opts.env ?? process.env,
  })
  closeSync(devnull)
  const line = await new Promise<string>((resolve, reject) => {
    let buf = ''
    const pipe = child.stdio[3] as NodeJS.ReadableStream
    pipe.on('data', (d: Buffer) => { buf += d.toString(); if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n'))) })
    child.once('exit', code => reject(new Error(`daemon child exited with ${code} before it was ready`)))
  })
  const info = JSON.parse(line) as { endpoint: string, accessKeyId: string, secretAccessKey: string }
  return {
    ...info,
    pid: child.pid ?? 0,
    stop: () => new Promise<void>(resolve => {
      if (child.exitCode !== null) { resolve(); return }
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.once('exit', () => { clearTimeout(t); resolve() })
      child.kill('SIGTERM')
    }),
  }
}
