/**
 * genlab/node: the Node-only part of the public API (file system). Browser code imports only
 * `genlab`; these modules use `node:` built-ins.
 */
import './backends/cpu/index.ts'; // registers the reference backend, as importing `genlab` does
export * from './nn/io/node.ts';
export { writeFileAtomic, writeDirAtomic } from './nn/io/files.ts';
export * from './data/locate.ts';
export { loadFeatureNet, referenceStats, referenceFeatures, readPngDir, WEIGHTS_DIR, IMAGE_DATASETS, type ImageDataset, type ReferenceOptions } from './metrics/node.ts';
export { evaluate, IMAGE_METRICS, POINT_METRICS, type EvaluateOptions, type EvaluateProgress, type MetricName, type MetricValue, type RunLike } from './metrics/evaluate.ts';
