// Shared constants and helpers of the kernels. Kernel arguments are i32 (and f32) words that the
// host writes at `args`; every parallel kernel has the signature (args, chunk, tid).

/** Per-thread odometer scratch: MAXD i32 words per thread id (the host reserves this region). */
export const IDX_SCRATCH: usize = 0x10000;
export const MAXD = 16;

export const F32 = 0;
export const I32 = 1;
export const BOOL = 2;

@inline export function argI(args: usize, i: i32): i32 {
  return load<i32>(args + (<usize>i << 2));
}

@inline export function argF(args: usize, i: i32): f32 {
  return load<f32>(args + (<usize>i << 2));
}

@inline export function idxScratch(tid: i32): usize {
  return IDX_SCRATCH + <usize>tid * (MAXD << 2);
}
