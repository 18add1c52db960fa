/**
 * Autoregressive models: FVSBN, NADE, MADE (binary vectors), PixelCNN, Gated PixelCNN and PixelRNN
 * (Row LSTM) (images and categorical maps), and their registry families.
 */
export { FVSBN, binaryLogProb, type FVSBNOptions } from './fvsbn.ts';
export { NADE, type NADEOptions } from './nade.ts';
export { BernoulliMADE, type BernoulliMADEOptions } from './made.ts';
export {
  PixelCNN, MaskedConv2d, GatedLayer, MaskedResidualLayer, rasterMask,
  type PixelCNNOptions, type PixelSampleOptions, type PixelOutput, type MaskType,
} from './pixelcnn.ts';
export { PixelRNN, RowLSTMLayer, type PixelRNNOptions } from './pixelrnn.ts';
export {
  fvsbn, nade, made, pixelcnn, pixelrnn, autoregressiveFamilies,
  type FvsbnConfig, type NadeConfig, type MadeConfig, type PixelcnnConfig, type PixelrnnConfig,
} from './family.ts';
