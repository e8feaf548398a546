// Condition operators of the policy language: parsing operator names, checking values, evaluating one condition.
import { BlockList, isIP } from 'node:net'
import { compilePattern, matchPattern, splitArn, type CompiledPattern, type VariableResolver } from './policy-patterns.js'

type Family = 'string' | 'numeric' | 'date' | 'bool' | 'binary' | 'ip' | 'arn' | 'null'
type Test = 'equals' | 'equalsIgnoreCase' | 'like' | 'lessThan' | 'lessThanEquals' | 'greaterThan' | 'greaterThanEquals'

interface BaseOperator { readonly name: string; readonly family: Family; readonly test: Test; readonly isNegated: boolean }

/** A parsed operator such as `ForAllValues:StringLikeIfExists`. */
export interface ConditionOperator {
  readonly base: BaseOperator
  readonly qualifier?: 'ForAnyValue' | 'ForAllValues'
  readonly isIfExists: boolean
}

/**
 * One key under one operator: `"StringLike": {"s3:prefix": ["home/", ""]}`. Key names are lower-cased, but for the
 * tag key of s3:ExistingObjectTag/<key> and s3:RequestObjectTag/<key>, which stays as written (object-tag-keys.ts).
 */
export interface PolicyCondition {
  readonly operatorName: string
  readonly operator: ConditionOperator
  readonly key: string
  readonly values: readonly string[]
}

/** Request values by lower-case key name; absent keys are undefined, multi-valued keys are arrays. */
export type ConditionKeys = Readonly<Record<string, string | readonly string[] | undefined>>

const op = (name: string, family: Family, test: Test, isNegated = false): BaseOperator => ({ name, family, test, isNegated })
const comparisons = (family: 'numeric' | 'date', prefix: string): BaseOperator[] => [
  op(`${prefix}Equals`, family, 'equals'), op(`${prefix}NotEquals`, family, 'equals', true),
  op(`${prefix}LessThan`, family, 'lessThan'), op(`${prefix}LessThanEquals`, family, 'lessThanEquals'),
  op(`${prefix}GreaterThan`, family, 'greaterThan'), op(`${prefix}GreaterThanEquals`, family, 'greaterThanEquals'),
]

const BASE_OPERATORS: readonly BaseOperator[] = [
  op('StringEquals', 'string', 'equals'), op('StringNotEquals', 'string', 'equals', true),
  op('StringEqualsIgnoreCase', 'string', 'equalsIgnoreCase'), op('StringNotEqualsIgnoreCase', 'string', 'equalsIgnoreCase', true),
  op('StringLike', 'string', 'like'), op('StringNotLike', 'string', 'like', true),
  ...comparisons('numeric', 'Numeric'), ...comparisons('date', 'Date'),
  op('Bool', 'bool', 'equals'), op('BinaryEquals', 'binary', 'equals'),
  op('IpAddress', 'ip', 'equals'), op('NotIpAddress', 'ip', 'equals', true),
  op('ArnEquals', 'arn', 'like'), op('ArnLike', 'arn', 'like'),
  op('ArnNotEquals', 'arn', 'like', true), op('ArnNotLike', 'arn', 'like', true),
  op('Null', 'null', 'equals'),
]
const BY_NAME = new Map(BASE_OPERATORS.map(o => [o.name.toLowerCase(), o]))

/** Parses an operator name; undefined when it is not part of the policy language. */
export function parseConditionOperator(name: string): ConditionOperator | undefined {
  const m = /^(?:(ForAnyValue|ForAllValues):)?(.+?)(IfExists)?$/i.exec(name)
  const base = m?.[2] === undefined ? undefined : BY_NAME.get(m[2].toLowerCase())
  if (m === null || base === undefined) return undefined
  const isIfExists = m[3] !== undefined
  if (base.family === 'null' && (isIfExists || m[1] !== undefined)) return undefined
  const qualifier = m[1] === undefined ? undefined : m[1].toLowerCase() === 'foranyvalue' ? 'ForAnyValue' : 'ForAllValues'
  return qualifier === undefined ? { base, isIfExists } : { base, qualifier, isIfExists }
}

/** True when policy variables are substituted in this operator's values (string and ARN operators only). */
export function acceptsVariables(operator: ConditionOperator): boolean {
  return operator.base.family === 'string' || operator.base.family === 'arn'
}

/** Checks one policy value for its operator; returns an error message, or undefined when valid. */
export function checkConditionValue(operator: ConditionOperator, value: string): string | undefined {
  const { name, family } = operator.base
  const isValid = family === 'numeric' ? parseNumber(value) !== undefined
    : family === 'date' ? parseDate(value) !== undefined
    : family === 'bool' || family === 'null' ? value === 'true' || value === 'false'
    : family === 'ip' ? parseCidr(value) !== undefined
    : family === 'binary' ? /^[A-Za-z0-9+/]*={0,2}$/.test(value)
    : true
  return isValid ? undefined : `Invalid value for ${name} condition: ${value}`
}

/**
 * Evaluates one condition against the request's keys with AWS's rules for absent keys:
 * positive operators fail, negated ones match, `…IfExists` matches; ForAllValues on an empty set
 * matches, ForAnyValue on an empty set does not. Several policy values are OR (NOR when negated).
 */
export function evaluateCondition(condition: PolicyCondition, keys: ConditionKeys, resolve?: VariableResolver): boolean {
  const { operator } = condition
  const raw = keys[condition.key]
  const present = raw === undefined ? undefined : typeof raw === 'string' ? [raw] : raw
  if (operator.base.family === 'null') return condition.values.some(v => (v === 'true') === (present === undefined || present.length === 0))
  if (present === undefined && operator.isIfExists) return true
  const matchesOne = valueTester(condition, resolve)
  const satisfies = (v: string): boolean => operator.base.isNegated ? !matchesOne(v) : matchesOne(v)
  if (operator.qualifier === 'ForAllValues') return present === undefined || present.every(satisfies)
  if (operator.qualifier === 'ForAnyValue') return present !== undefined && present.some(satisfies)
  if (present === undefined || present.length === 0) return operator.base.isNegated || operator.isIfExists
  return operator.base.isNegated ? present.every(satisfies) : present.some(satisfies)
}

/** Builds "does this request value match any of the policy values" for the positive form of the operator. */
function valueTester(condition: PolicyCondition, resolve: VariableResolver | undefined): (value: string) => boolean {
  const { family, test } = condition.operator.base
  const values = condition.values
  switch (family) {
    case 'string': {
      const patterns = compiled(values, resolve)
      if (test === 'like') return v => patterns.some(p => matchPattern(p, v))
      if (test === 'equalsIgnoreCase') return v => patterns.some(p => p.text.toLowerCase() === v.toLowerCase())
      return v => patterns.some(p => p.text === v)
    }
    case 'arn': return v => values.some(p => arnLike(p, v, resolve))
    case 'numeric': return v => values.some(p => compare(parseNumber(v), parseNumber(p), test))
    case 'date': return v => values.some(p => compare(parseDate(v), parseDate(p), test))
    case 'bool': return v => values.some(p => p.toLowerCase() === v.toLowerCase())
    case 'binary': return v => values.some(p => Buffer.from(p, 'base64').equals(Buffer.from(v, 'base64')))
    case 'ip': {
      const ranges = values.map(parseCidr).filter((r): r is Cidr => r !== undefined)
      return v => ipInRanges(v, ranges)
    }
    case 'null': return () => false
  }
}

function compiled(values: readonly string[], resolve: VariableResolver | undefined): CompiledPattern[] {
  // A value whose variable has no value is dropped: it can match nothing.
  return values.map(v => compilePattern(v, resolve)).filter((p): p is CompiledPattern => p !== undefined)
}

/** ARN matching: each of the six colon-delimited components is matched separately, with wildcards. */
function arnLike(pattern: string, value: string, resolve: VariableResolver | undefined): boolean {
  const patternParts = splitArn(pattern)
  const valueParts = value.split(':')
  if (patternParts.length < 6) {
    const whole = compilePattern(pattern, resolve)
    return whole !== undefined && matchPattern(whole, value)
  }
  if (valueParts.length < 6) return false
  const valueComponents = [...valueParts.slice(0, 5), valueParts.slice(5).join(':')]
  return patternParts.every((part, i) => {
    const p = compilePattern(part, resolve)
    return p !== undefined && matchPattern(p, valueComponents[i] ?? '')
  })
}

function compare(a: number | undefined, b: number | undefined, test: Test): boolean {
  if (a === undefined || b === undefined) return false
  switch (test) {
    case 'lessThan': return a < b
    case 'lessThanEquals': return a <= b
    case 'greaterThan': return a > b
    case 'greaterThanEquals': return a >= b
    default: return a === b
  }
}

function parseNumber(s: string): number | undefined {
  return /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s) ? Number(s) : undefined
}

/** ISO 8601 (a time without offset is UTC) or epoch seconds, as milliseconds. */
export function parseDate(s: string): number | undefined {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s) * 1000
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined
  const utc = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s}Z` : s
  const ms = Date.parse(utc)
  return Number.isNaN(ms) ? undefined : ms
}

interface Cidr { readonly list: BlockList; readonly family: 'ipv4' | 'ipv6' }

/** A CIDR or bare address (= /32 or /128) as a one-entry BlockList. */
function parseCidr(s: string): Cidr | undefined {
  const [address = '', prefixText, extra] = s.trim().split('/')
  const version = isIP(address)
  if (version === 0 || extra !== undefined) return undefined
  const family = version === 4 ? 'ipv4' : 'ipv6'
  const maxPrefix = version === 4 ? 32 : 128
  const prefix = prefixText === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1
  if (prefix < 0 || prefix > maxPrefix) return undefined
  const list = new BlockList()
  list.addSubnet(address, prefix, family)
  return { list, family }
}

function ipInRanges(value: string, ranges: readonly Cidr[]): boolean {
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; policies name them as IPv4.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value)?.[1]
  const address = mapped ?? value
  const version = isIP(address)
  if (version === 0) return false
  const family = version === 4 ? 'ipv4' : 'ipv6'
  return ranges.some(r => r.family === family && r.list.check(address, family))
}
