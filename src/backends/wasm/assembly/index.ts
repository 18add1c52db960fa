// Entry point of the kernel module: every export is a kernel with the signature (args, chunk, tid).
export { ew } from './elementwise';
export { reduce, argReduce, cumsum } from './reduce';
export { gemm } from './gemm';
export { im2col, col2im } from './conv';
export { adam } from './optim';
