// The reads limit: nginx-light serving the very same bucket directories, started and stopped by the bench.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'

export const NGINX = '/usr/sbin/nginx'

export interface Nginx { endpoint: string, pid: number, stop (): Promise<void> }

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      s.close(() => typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')))
    })
  })
}

/** One nginx process (master_process off) whose root holds the buckets: GET /bucket/key maps to the same file. */
export async function startNginx (tmp: string, root: string): Promise<Nginx> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: apt-get install -y nginx-light`)
  const dir = join(tmp, 'nginx')
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`)
  const child: ChildProcess = spawn(NGINX, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] })
  const deadline = Date.now() + 10_000
  for (;;) {
    if (await canConnect(port)) break
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('nginx did not start; see ' + join(dir, 'error.log'))
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: () => new Promise<void>(resolve => {
      if (child.exitCode !== null) { resolve(); return }
      child.once('exit', () => resolve())
      child.kill('SIGQUIT')
    }),
  }
}

function canConnect (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
