// S3's bucket naming rules (general purpose buckets), shared by bridgectl and CreateBucket.
import { S3Error } from '../errors/s3-error.js'

// S3 user guide, "General purpose bucket naming rules".
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-']
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']

export function bucketNameProblem (name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long'
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'may contain only lower-case letters, digits, dots and hyphens, and must begin and end with a letter or digit'
  if (name.includes('..')) return 'must not contain two adjacent dots'
  // Each dot-separated label must begin and end with a letter or digit (DNS; s3-tests' dns_dot_dash cases).
  if (name.includes('.-') || name.includes('-.')) return 'must not have a hyphen next to a dot'
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not be formatted as an IP address'
  if (RESERVED_PREFIXES.some(p => name.startsWith(p)) || RESERVED_SUFFIXES.some(s => name.endsWith(s))) return 'must not use a reserved prefix or suffix'
  return undefined
}

export function validateBucketName (name: string): void {
  const problem = bucketNameProblem(name)
  if (problem) throw new S3Error('InvalidBucketName', { BucketName: name }, { message: `The specified bucket is not valid: the name ${problem}.` })
}
