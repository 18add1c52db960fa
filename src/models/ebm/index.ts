/** Energy-based models: the `ebm` family (contrastive divergence, replay buffer, Langevin sampling). */
export { ebmFamily, ebmDefaults, ebmLoss, replayStart, EnergyNet, type EbmConfig, type EbmModel } from './family.ts';
