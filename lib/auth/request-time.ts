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

/** SigV2 presigned URLs carry an absolute Expires in epoch seconds. */
export function assertPresignedV2Valid(expiresEpochSeconds: number, now: Date): void {
  if (now.getTime() <= expiresEpochSeconds * 1000) return
  throw new S3Error('AccessDenied', {
    Expires: new Date(expiresEpochSeconds * 1000).toISOString(),
    ServerTime: now.toISOString(),
  }, { message: 'Request has expired' })
}
