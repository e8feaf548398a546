// Wildcard patterns (`*`, `?`) and policy variables (`${aws:username}`) shared by Action, Resource and Condition matching.

/** Looks up a policy variable by its lower-case key name; undefined when the request has no such value. */
export type VariableResolver = (name: string) => string | undefined

const ANY = 0
const ONE = 1
type PatternToken = string | typeof ANY | typeof ONE

/** A pattern after variable substitution: tokens for wildcard matching, text for exact comparison. */
export interface CompiledPattern {
  readonly tokens: readonly PatternToken[]
  /** The literal expansion, with `*` and `?` kept as characters (what StringEquals compares). */
  readonly text: string
}

const SURROGATE = /[\uD800-\uDFFF]/
const ESCAPES: Readonly<Record<string, string>> = { '*': '*', '?': '?', '$': '$' }

/**
 * Patterns without a variable compile to the same tokens whatever the request: they are compiled once (a policy's
 * Action and Resource lists are matched on every request). Bounded: emptied when full.
 */
const COMPILED = new Map<string, CompiledPattern>()
const MAX_COMPILED = 4096

/**
 * Compiles a policy string into a pattern. Without a resolver (policy version 2008-10-17, or Action
 * elements) `${…}` is literal text. Returns undefined when a variable has no value and no default,
 * which callers treat as "this pattern matches nothing", as AWS does.
 */
export function compilePattern(raw: string, resolve?: VariableResolver): CompiledPattern | undefined {
  const isFixed = resolve === undefined || !raw.includes('${')
  if (!isFixed) return compileTokens(raw, resolve)
  let pattern = COMPILED.get(raw)
  if (pattern === undefined) {
    pattern = compileTokens(raw, undefined) as CompiledPattern // without a resolver no variable can be unresolved
    Object.freeze(pattern.tokens)
    Object.freeze(pattern) // shared by every caller
    if (COMPILED.size >= MAX_COMPILED) COMPILED.clear()
    COMPILED.set(raw, pattern)
  }
  return pattern
}

function compileTokens(raw: string, resolve: VariableResolver | undefined): CompiledPattern | undefined {
  const tokens: PatternToken[] = []
  let text = ''
  let i = 0
  while (i < raw.length) {
    const close = resolve !== undefined && raw.startsWith('${', i) ? raw.indexOf('}', i + 2) : -1
    if (close >= 0) {
      const value = variableValue(raw.slice(i + 2, close), resolve)
      if (value === undefined) return undefined
      for (const ch of value) tokens.push(ch)
      text += value
      i = close + 1
      continue
    }
    const ch = raw.codePointAt(i) ?? 0
    const s = String.fromCodePoint(ch)
    tokens.push(s === '*' ? ANY : s === '?' ? ONE : s)
    text += s
    i += s.length
  }
  return { tokens, text }
}

/** The value of one `${…}` body: an escape, a key, or a key with a quoted default (`aws:username, 'nobody'`). */
function variableValue(body: string, resolve: VariableResolver | undefined): string | undefined {
  const escaped = ESCAPES[body]
  if (escaped !== undefined) return escaped
  const withDefault = /^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$/.exec(body)
  const name = (withDefault?.[1] ?? body).trim().toLowerCase()
  return resolve?.(name) ?? withDefault?.[2]
}

/** Matches a whole value against a compiled pattern; `*` spans any run (including '/'), `?` one character. */
export function matchPattern(pattern: CompiledPattern, value: string, options: { ignoreCase?: boolean } = {}): boolean {
  const p = pattern.tokens
  const text = options.ignoreCase === true ? value.toLowerCase() : value
  // By code point; without surrogates a string's own indices are its code points (no array of characters to build).
  const s: ArrayLike<string> = SURROGATE.test(text) ? Array.from(text) : text
  const same = options.ignoreCase === true
    ? (t: string, c: string): boolean => t.toLowerCase() === c
    : (t: string, c: string): boolean => t === c
  // Greedy two-pointer match that backtracks only to the last `*`: linear in practice, no regex blow-up.
  let pi = 0
  let si = 0
  let starAt = -1
  let starSi = 0
  while (si < s.length) {
    const t = p[pi]
    const c = s[si] as string
    if (t === ONE || (typeof t === 'string' && same(t, c))) {
      pi++
      si++
    } else if (t === ANY) {
      starAt = pi++
      starSi = si
    } else if (starAt >= 0) {
      pi = starAt + 1
      si = ++starSi
    } else {
      return false
    }
  }
  while (p[pi] === ANY) pi++
  return pi === p.length
}

/** Convenience: wildcard match of a plain pattern (no variables). */
export function wildcardMatch(pattern: string, value: string, options: { ignoreCase?: boolean } = {}): boolean {
  const compiled = compilePattern(pattern)
  return compiled !== undefined && matchPattern(compiled, value, options)
}

/** True when the string uses `*` or `?` outside policy variables. */
export function hasWildcard(raw: string): boolean {
  return /[*?]/.test(raw.replace(/\$\{[^}]*\}/g, ''))
}

/**
 * Splits an ARN into its six colon-delimited components (the last keeps any further colons).
 * Colons inside `${…}` do not split. Returns fewer parts when the string has fewer colons.
 */
export function splitArn(raw: string): string[] {
  const parts: string[] = []
  let start = 0
  let depth = 0
  for (let i = 0; i < raw.length && parts.length < 5; i++) {
    if (raw.startsWith('${', i)) depth++
    else if (raw[i] === '}' && depth > 0) depth--
    else if (raw[i] === ':' && depth === 0) {
      parts.push(raw.slice(start, i))
      start = i + 1
    }
  }
  parts.push(raw.slice(start))
  return parts
}
