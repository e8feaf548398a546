// Work a request goes on with after its handler returned (a kept-alive CompleteMultipartUpload assembling its
// parts): a stopping daemon waits for it before it says it has stopped, as it waits for requests in flight.

export class BackgroundWork {
  private readonly work = new Set<Promise<unknown>>()

  get size (): number {
    return this.work.size
  }

  track (p: Promise<unknown>): void {
    this.work.add(p)
    p.then(() => this.work.delete(p), () => this.work.delete(p))
  }

  /** Resolves once nothing tracked is left (work tracked meanwhile included). */
  async settled (): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work])
  }
}
