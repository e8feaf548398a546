// Tag sets: the x-amz-tagging header, the <Tagging> document, AWS's limits on both, and the reply document.
import { S3Error } from '../errors/s3-error.js'
import type { ObjectTag } from '../storage/types.js'
import { children, parseXml, rootElement, texts } from './xml/parse.js'
import { renderXml } from './xml/render.js'

/** AWS: 10 tags on an object, 50 on a bucket; keys up to 128 Unicode characters, values up to 256. */
export const MAX_OBJECT_TAGS = 10
export const MAX_BUCKET_TAGS = 50
const MAX_KEY_CHARS = 128
const MAX_VALUE_CHARS = 256
const MAX_TAGGING_XML_BYTES = 64 * 1024

const chars = (s: string): number => [...s].length

/** Refuses a tag set AWS would refuse: too many tags, a key or value too long, an empty, duplicate or aws: key. */
export function validateTags (tags: ObjectTag[], maxTags: number): ObjectTag[] {
  if (tags.length > maxTags) throw new S3Error('InvalidTag', {}, { message: `Object tags cannot be greater than ${maxTags}` })
  const seen = new Set<string>()
  for (const { key, value } of tags) {
    if (chars(key) < 1 || chars(key) > MAX_KEY_CHARS) throw new S3Error('InvalidTag', { TagKey: key }, { message: 'The TagKey you have provided is invalid' })
    if (chars(value) > MAX_VALUE_CHARS) throw new S3Error('InvalidTag', { TagKey: key, TagValue: value }, { message: 'The TagValue you have provided is invalid' })
    if (key.toLowerCase().startsWith('aws:')) throw new S3Error('InvalidTag', { TagKey: key }, { message: 'Your TagKey cannot be prefixed with aws:' })
    if (seen.has(key)) throw new S3Error('InvalidTag', { TagKey: key }, { message: 'Cannot provide multiple Tags with the same key' })
    seen.add(key)
  }
  return tags
}

/** The x-amz-tagging header ("k1=v1&k2=v2", URL-encoded); undefined when absent. */
export function tagsFromHeader (value: string | string[] | undefined): ObjectTag[] | undefined {
  if (value === undefined) return undefined
  const text = Array.isArray(value) ? value.join('&') : value
  const tags: ObjectTag[] = []
  for (const [key, v] of new URLSearchParams(text)) tags.push({ key, value: v })
  return validateTags(tags, MAX_OBJECT_TAGS)
}

/** A PutObjectTagging/PutBucketTagging body: <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>. */
export async function tagsFromXml (text: string, maxTags: number): Promise<ObjectTag[]> {
  if (Buffer.byteLength(text) > MAX_TAGGING_XML_BYTES) throw new S3Error('MalformedXML')
  const root = rootElement(await parseXml(text), 'Tagging')
  const sets = children(root, 'TagSet')
  if (sets.length !== 1) throw new S3Error('MalformedXML')
  const tags: ObjectTag[] = []
  for (const tag of children(sets[0], 'Tag')) {
    const keys = texts(tag, 'Key')
    const values = texts(tag, 'Value')
    if (keys.length !== 1 || values.length > 1) throw new S3Error('MalformedXML')
    tags.push({ key: keys[0]!, value: values[0] ?? '' })
  }
  return validateTags(tags, maxTags)
}

export function renderTagging (tags: readonly ObjectTag[]): string {
  return renderXml('Tagging', { TagSet: { Tag: tags.map(t => ({ Key: t.key, Value: t.value })) } })
}
