/** Generative adversarial networks: the f-divergence table, the objectives, the nets and the `gan` family. */
export { F_DIVERGENCES, fDivergence, variationalBound, type FDivergence, type DivergenceName } from './divergences.ts';
export { GAN_LOSSES, discriminatorLoss, generatorLoss, gradientPenalty, clipWeights, type GanLossName } from './losses.ts';
export { GanNet, MlpGenerator, MlpDiscriminator, DcganGenerator, DcganDiscriminator, SelfModulatedBatchNorm, type DiscriminatorNorm } from './nets.ts';
export { ganFamily, ganDefaults, ganDiscriminatorLoss, ganGeneratorLoss, type GanConfig, type GanModel } from './family.ts';
