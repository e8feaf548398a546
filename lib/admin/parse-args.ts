// Argument parsing for bridgectl commands on node:util parseArgs, turning its errors into usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './output.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** `optional`: positionals that may follow the required ones. */
export function parse<O extends Options> (args: string[], options: O, positionals: string[], optional: string[] = []): { values: Record<string, string | boolean | string[] | undefined>, positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { ...options, json: { type: 'boolean' } }, allowPositionals: true, strict: true })
    if (r.positionals.length < positionals.length) throw new UsageError(`missing ${positionals.slice(r.positionals.length).join(' ')}`)
    const most = positionals.length + optional.length
    if (r.positionals.length > most) throw new UsageError(`unexpected argument "${r.positionals[most]}"`)
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals }
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new UsageError((err as Error).message)
  }
}

export function intOption (value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`)
  return n
}
