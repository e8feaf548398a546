// Making access keys: AWS-shaped ids (20 upper-case characters) and 40-character secrets.
import { randomBytes, randomInt } from 'node:crypto'
import type { AccessKeyRecord } from '../state/types.js'

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export function newAccessKeyId (): string {
  let id = 'SB'
  for (let i = 0; i < 18; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)]
  return id
}

export function newSecret (): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B')
}

export function newAccessKey (now: Date, expiresAt?: Date): AccessKeyRecord {
  return { accessKeyId: newAccessKeyId(), secret: newSecret(), createdAt: now.toISOString(), status: 'Active', expiresAt: expiresAt?.toISOString() }
}

/** "wJal…EKEY": enough to recognise a secret, never enough to use it. */
export function maskSecret (secret: string | undefined): string {
  if (!secret) return '-'
  // Enough to tell two secrets apart in a table, not enough to matter if the table ends up in a ticket.
  return `${'*'.repeat(8)}${secret.slice(-4)}`
}
