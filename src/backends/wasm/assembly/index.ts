// Entry point of the kernel module: every export is a kernel with the signature (args, chunk, tid).
export { ew } from './elementwise';
export { reduce, argReduce, cumsum } from './reduce';
export { gemm, gemmBlocking } from './gemm';
export { gemmSmallK, gemmThinV, gemmThinK } from './thin';
export { im2col, col2im, convForward, convWeightGrad, convInputGrad } from './conv';
export { adam } from './optim';
export { normRows, normRowsBackward, softmaxRows, softmaxRowsBackward } from './norm';
export { siluBackward } from './activation';

/**
 * The op tables this build was compiled against: (number of unary ops) · 256 + (number of binary
 * ops). The host compares it with core/backend.ts's lists, so a stale build fails loudly instead of
 * running an op code it does not know.
 */
export function opTables(): i32 {
  return 20 * 256 + 15;
}
