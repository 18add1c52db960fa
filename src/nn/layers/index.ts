/** The layers, each a Module with PyTorch's state-dict keys and default initialisation. */
export type { InitLayerOptions, TensorModule, Pair } from './common.ts';
export { Linear, Identity, Flatten, Unflatten, Embedding, type LinearOptions, type EmbeddingOptions } from './linear.ts';
export { Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, padSpatial, type ConvLayerOptions, type ConvTransposeLayerOptions, type PaddingMode, type Size } from './conv.ts';
export { LayerNorm, GroupNorm, BatchNorm1d, BatchNorm2d, type LayerNormOptions, type GroupNormOptions, type BatchNormOptions } from './norm.ts';
export { ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax, Dropout } from './activation.ts';
export { MaxPool2d, AvgPool2d, MaxPool1d, AvgPool1d, Upsample, type Pool2dOptions, type UpsampleOptions } from './pooling.ts';
export { Sequential, ModuleList, ModuleDict } from './container.ts';
export { MultiheadAttention, type MultiheadAttentionOptions, type AttentionCallOptions } from './attention.ts';
export { SpectralNorm, weightMatrix, type SpectralNormOptions, type WeightedLayer } from './spectral_norm.ts';
