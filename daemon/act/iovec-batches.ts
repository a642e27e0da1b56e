/**
 * process_madvise(2) calls for a list of 2 MiB regions of one process. Linux takes at most IOV_MAX (1024)
 * iovecs per call and silently cuts the total length to MAX_RW_COUNT (0x7ffff000, 2 GiB − 4 KiB): 1024
 * regions of 2 MiB would lose the last 4 KiB, and the last region would be advised partly — so a call
 * carries at most 1023 whole regions. Adjacent regions are not merged into one iovec: a region is the
 * unit of success and failure (the call returns the bytes done, iovecs in order), and one iovec per
 * region lets that count say which regions were done.
 */

/** Iovecs per call (IOV_MAX, UIO_MAXIOV). */
export const IOV_MAX = 1024;
/** The most bytes one read/write-like call moves (MAX_RW_COUNT = INT_MAX & PAGE_MASK). */
export const MAX_RW_COUNT = 0x7ffff000;
/** Bytes in a region. */
export const REGION_BYTES = 2 * 1024 * 1024;

/** One call's iovecs. */
export interface IovecBatch {
  readonly iov: readonly { readonly base: number; readonly len: number }[];
  readonly bytes: number;
}

/** The regions (start addresses, 2 MiB aligned) as calls within Linux's limits, in the order given. */
export function iovecBatches(regions: readonly number[]): IovecBatch[] {
  const perCall = Math.min(IOV_MAX, Math.floor(MAX_RW_COUNT / REGION_BYTES));
  const batches: IovecBatch[] = [];
  for (let i = 0; i < regions.length; i += perCall) {
    const iov = regions.slice(i, i + perCall).map((base) => {
      if (base % REGION_BYTES !== 0) throw new RangeError(`region 0x${base.toString(16)} is not 2 MiB aligned`);
      return { base, len: REGION_BYTES };
    });
    batches.push({ iov, bytes: iov.length * REGION_BYTES });
  }
  return batches;
}

/**
 * How a call's result reads per region: the regions wholly within the bytes returned were done; the
 * next one, if any, is the one that failed (its errno comes from calling again starting there); the
 * rest were not tried.
 */
export function batchProgress(batch: IovecBatch, bytesDone: number): { done: number; failedAt: number | undefined } {
  const done = Math.min(batch.iov.length, Math.floor(bytesDone / REGION_BYTES));
  return { done, failedAt: done < batch.iov.length ? done : undefined };
}
