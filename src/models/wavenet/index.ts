/** WaveNet: μ-law companding, the network, naive and fast (queued) generation, the registry family. */
export * from './mulaw.ts';
export * from './wavenet.ts';
export * from './fast.ts';
export { wavenetFamily, type WaveNetFamilyConfig, type WaveNetModel } from './family.ts';
