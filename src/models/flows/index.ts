/**
 * Normalizing flows: the Bijector / Distribution contracts, the layers of NICE, RealNVP, Glow,
 * MAF/IAF and continuous flows, dequantisation and bits/dim, and the registry families.
 * Importing this module registers nothing; call `registerFlows()` or use `flowFamilies`.
 */
export { Bijector, Chain, Inverse, zerosLogDet, sumEvent, type BijectorCallOptions, type ForwardResult, type InverseResult, type OdeSolverSpec } from './bijector.ts';
export { Distribution, StandardNormal, DiagonalNormal, ConditionalDiagonalNormal, normalLogProb, type SampleCallOptions } from './distributions.ts';
export { Flow, type FlowSampleOptions } from './flow.ts';
export { MLP, ConvNet, ZeroConv2d, withContext, type Conditioner, type Activation } from './nets.ts';
export { AdditiveCoupling, AffineCoupling, Scaling, halfMask, alternatingMask, checkerboardMask, channelMask, type ScaleKind } from './coupling.ts';
export { ActNorm, BatchNormFlow } from './norms.ts';
export { InvertibleConv1x1, glowStep, type InvConvOptions, type GlowStepOptions } from './glow.ts';
export { Permutation, Logit, Sigmoid, FixedAffine, Squeeze, Reshape } from './elementwise.ts';
export { MultiScale, SplitPrior } from './multiscale.ts';
export { MaskedAffineAutoregressive, InverseAutoregressive, type AutoregressiveOptions } from './autoregressive.ts';
export { CNF, OdeNet, ConcatSquashLinear, type CNFOptions, type OdeNetOptions } from './cnf.ts';
export { toLevels, fromLevels, uniformDequantize, centreDequantize, discreteLogLikelihood, bitsPerDim } from './dequantize.ts';
export * from './architectures.ts';
export { flowFamilies, registerFlows, nice, realnvp, glow, maf, cnf, type FlowModel } from './family.ts';
export { MADE, MaskedLinear, type MADEOptions } from '../../nn/made.ts';
