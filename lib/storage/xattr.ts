// Extended attributes, through s3bridge's own addon (native/xattr.c) and fs-xattr only when the addon is missing.
import { createRequire } from 'node:module'
import { nativeAddon } from './native.js'

export interface XattrApi {
  /** The attribute's value; rejects with an errno error (`code` 'ENODATA' when the file has none). */
  getAttribute (path: string, name: string): Promise<Buffer>
  setAttribute (path: string, name: string, value: Buffer | string): Promise<void>
  removeAttribute (path: string, name: string): Promise<void>
}

let api: XattrApi | undefined

/**
 * fs-xattr 0.4.0 leaks its value buffer and its async-work handle on every call (~1 KiB of native memory per
 * getxattr: the soak's RSS grew for as long as it ran, with a flat JS heap), so the addon does the calls.
 * fs-xattr stays as the fallback for a host where the addon did not build (it needs the same compiler, so
 * that should be rare), and `bridged` warns at start when that happens (see xattrFallbackInUse).
 */
export function xattr (): XattrApi {
  if (api !== undefined) return api
  const n = nativeAddon()
  if (n?.getXattr && n.setXattr && n.removeXattr) {
    const { getXattr, setXattr, removeXattr } = n
    api = { getAttribute: getXattr, setAttribute: setXattr, removeAttribute: removeXattr }
  } else {
    api = createRequire(import.meta.url)('fs-xattr') as XattrApi
  }
  return api
}

/** True when extended attributes go through the leaking fs-xattr fallback (the addon was not built). */
export function xattrFallbackInUse (): boolean {
  const n = nativeAddon()
  return !(n?.getXattr && n.setXattr && n.removeXattr)
}

export const getAttribute = (path: string, name: string): Promise<Buffer> => xattr().getAttribute(path, name)
export const setAttribute = (path: string, name: string, value: Buffer | string): Promise<void> => xattr().setAttribute(path, name, value)
export const removeAttribute = (path: string, name: string): Promise<void> => xattr().removeAttribute(path, name)

/**
 * Sets the attribute only if the file has none of that name (XATTR_CREATE), else rejects with EEXIST: one atomic
 * call, which needs the addon (fs-xattr has no flags): without it, ENOTSUP, refused rather than done unsafely.
 */
export async function createAttribute (path: string, name: string, value: string): Promise<void> {
  const n = nativeAddon()
  if (n?.setXattr) return await n.setXattr(path, name, value, XATTR_CREATE)
  throw Object.assign(new Error(`ENOTSUP: a create-only extended attribute needs s3bridge's addon (${path})`), { code: 'ENOTSUP', syscall: 'setxattr', path })
}

const XATTR_CREATE = 1
