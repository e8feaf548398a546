// The logger: pino JSON lines to stdout (journald), with secrets and signatures redacted.
import { pino, type Logger } from 'pino'

export type { Logger }

const REDACT = [
  'secret', '*.secret', 'secretAccessKey', '*.secretAccessKey', 'oldSecret', '*.oldSecret',
  'authorization', '*.authorization', 'headers.authorization', 'headers["x-amz-security-token"]',
  'signature', '*.signature',
]

export function createLogger (level: 'debug' | 'info' | 'warn' | 'error', destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime }
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options)
}

/** Strips signatures and credentials from a request URL before it is logged. */
export function redactUrl (url: string): string {
  return url.replace(/([?&](?:X-Amz-Signature|Signature|X-Amz-Security-Token|X-Amz-Credential|AWSAccessKeyId)=)[^&]*/gi, '$1[redacted]')
}
