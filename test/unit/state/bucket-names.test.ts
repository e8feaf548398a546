// S3's general purpose bucket naming rules (S3 user guide, "General purpose bucket naming rules"), as CreateBucket
// and bridgectl apply them.
import t from 'tap'
import { bucketNameProblem, validateBucketName } from '../../../lib/state/bucket-names.js'

t.test('names AWS accepts', async t => {
  for (const name of ['abc', 'my-bucket', 'my.bucket.name', 'a1b2c3', '0bucket9', 'a'.repeat(63), 'xn-bucket', 'bucket-s3', 'amzn-s3-dem']) {
    t.equal(bucketNameProblem(name), undefined, name)
  }
})

t.test('names AWS refuses, each with the rule it breaks', async t => {
  const cases: Array<[string, RegExp]> = [
    ['ab', /3 to 63/], ['a'.repeat(64), /3 to 63/],
    ['My-Bucket', /lower-case/], ['-bucket', /begin and end/], ['bucket-', /begin and end/], ['bucket_name', /lower-case/],
    ['my..bucket', /adjacent dots/], ['192.168.5.4', /IP address/],
    ['xn--bucket', /reserved/], ['sthree-bucket', /reserved/], ['sthree-configurator', /reserved/], ['amzn-s3-demo-bucket', /reserved/],
    ['bucket-s3alias', /reserved/], ['bucket--ol-s3', /reserved/], ['bucket.mrap', /reserved/], ['bucket--x-s3', /reserved/], ['bucket--table-s3', /reserved/],
  ]
  for (const [name, rule] of cases) t.match(bucketNameProblem(name), rule, name)
  t.throws(() => validateBucketName('amzn-s3-demo-x'), { code: 'InvalidBucketName', status: 400 })
})
