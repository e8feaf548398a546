// Request-time checks shared by every signature form: clock skew and presigned expiry.
import { S3Error } from '../errors/s3-error.js'

/** RequestTimeTooSkewed when the signed request time is further than maxClockSkewMs from now. */
export function assertWithinSkew(signedAt: Date, requestTimeText: string, now: Date, maxClockSkewMs: number): void {
  if (Math.abs(now.getTime() - signedAt.getTime()) <= maxClockSkewMs) return
  throw new S3Error('RequestTimeTooSkewed', {
    RequestTime: requestTimeText,
    ServerTime: now.toISOString(),
    MaxAllowedSkewMilliseconds: maxClockSkewMs,
  })
}

/** SigV4 presigned URLs: not usable before their date (beyond the skew) nor after date + X-Amz-Expires. */
export function assertPresignedV4Valid(signedAt: Date, expiresSeconds: number, now: Date, maxClockSkewMs: number): void {
  if (signedAt.getTime() - now.getTime() > maxClockSkewMs) {
    throw new S3Error('AccessDenied', { 'X-Amz-Date': signedAt.toISOString(), ServerTime: now.toISOString() }, { message: 'Request is not valid yet' })
  }
  const expiresAt = new Date(signedAt.getTime() + expiresSeconds * 1000)
  if (now.getTime() > expiresAt.getTime()) {
    throw new S3Error('AccessDenied', {
      'X-Amz-Expires': expiresSeconds,
      Expires: expiresAt.toISOString(),
      ServerTime: now.toISOString(),
    }, { message: 'Request has expired' })
  }
}

/**
 * SigV2 presigned URLs carry an absolute Expires in epoch seconds and no signing time, so their lifetime is
 * capped from now instead: at most maxExpirySeconds (SigV4's week) ahead, give or take the allowed clock skew.
 */
export function assertPresignedV2Valid(expiresEpochSeconds: number, now: Date, limits: { maxExpirySeconds: number, maxClockSkewMs: number }): void {
  const expiresAtMs = expiresEpochSeconds * 1000
  // Past JavaScript's date range (±8.64e15 ms) toISOString throws: a far-future Expires was a 500 with a stack trace.
  const fields = { Expires: Number.isFinite(new Date(expiresAtMs).getTime()) ? new Date(expiresAtMs).toISOString() : String(expiresEpochSeconds), ServerTime: now.toISOString() }
  if (now.getTime() > expiresAtMs) throw new S3Error('AccessDenied', fields, { message: 'Request has expired' })
  if (expiresAtMs - now.getTime() > limits.maxExpirySeconds * 1000 + limits.maxClockSkewMs) {
    throw new S3Error('AccessDenied', { ...fields, MaxExpirySeconds: limits.maxExpirySeconds }, {
      message: `Expires must be at most ${limits.maxExpirySeconds} seconds after the request time`,
    })
  }
}
