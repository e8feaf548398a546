// bridgectl output: human tables by default, JSON for scripts, and the errors that set the exit status.

export class UsageError extends Error {
  readonly exitCode = 2
}
export class AdminError extends Error {
  readonly exitCode = 1
}

export interface Output {
  json: boolean
  write (text: string): void
}

export function table (rows: Array<Record<string, string | number | boolean | undefined>>, columns: string[]): string {
  const cells = rows.map(r => columns.map(c => r[c] === undefined ? '-' : String(r[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(r => r[i]!.length)))
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(columns.map(c => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n'
}

export function fields (obj: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(obj).map(k => k.length))
  return Object.entries(obj).map(([k, v]) => `${(k + ':').padEnd(width + 2)}${v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n'
}

export function emit (out: Output, value: unknown, human: () => string): void {
  out.write(out.json ? JSON.stringify(value, null, 2) + '\n' : human())
}
