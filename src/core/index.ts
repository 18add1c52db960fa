export * from './tensor.ts';
export { noGrad, isGradEnabled } from './autograd.ts';
export { grad, valueAndGrad, vjp, autogradGrad } from './functional_autograd.ts';
export { setBackend, getBackend, registerBackend, backendNames, type Backend, type KernelTable, type PrimitiveOp, type View } from './backend.ts';
export type { DType, TypedArray } from './dtype.ts';
export { Generator, type GeneratorState } from './random.ts';
export * from './rand.ts';
export { pad, roll, einsum } from './ops.ts';
export * as linalg from './linalg.ts';
