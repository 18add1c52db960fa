/**
 * The `wavenet` family in the model registry (src/models/registry.ts), for audio data
 * (DataSpec kind 'audio', shape [T]: a clip of T samples; batches are waveforms [N, T] in [−1, 1]).
 *
 *   loss           mean negative log-likelihood per sample, in nats, of the μ-law levels
 *                  (cross-entropy of the 256-way softmax; bits per sample = nats / ln 2)
 *   sample         'fast' (Paine et al. 2016 queues, default) or 'naive' generation of T samples,
 *                  at `temperature` (default 1), decoded from μ-law to waveforms [n, T]
 *   logLikelihood  exact log p(levels) = Σₜ log p(xₜ | x_{<t}) in nats per clip (bound: false),
 *                  a discrete likelihood of the μ-law-quantised clip (not a waveform density)
 */
import { type Tensor, type Generator, noGrad } from '../../core/index.ts';
import type { Family, Model, DataSpec, Batch, SampleOptions } from '../registry.ts';
import { shapeStr } from '../../core/shape.ts';
import { WaveNet, type WaveNetConfig, waveNetLoss } from './wavenet.ts';
import { fastGenerate, naiveGenerate } from './fast.ts';
import { muLawEncodeTensor, muLawDecodeTensor } from './mulaw.ts';

export interface WaveNetFamilyConfig extends Omit<WaveNetConfig, 'quantization'> {
  /** μ of the μ-law companding: μ + 1 softmax levels (255: the paper's 8-bit, 256 levels). */
  mu: number;
  /** Sample rate of the audio in Hz (for writing WAV files; the model itself does not use it). */
  sampleRate: number;
}

export type WaveNetModel = Model<WaveNetFamilyConfig> & { readonly net: WaveNet };

const SAMPLERS = ['fast', 'naive'] as const;

function checkAudio(data: DataSpec): void {
  if (data.kind !== 'audio' || data.shape.length !== 1 || !(data.shape[0]! >= 1)) {
    throw new Error(`wavenet: expected data of kind 'audio' with shape [T], got kind '${data.kind}' with shape ${shapeStr(data.shape)}`);
  }
}

function levelsOf(model: Model<WaveNetFamilyConfig>, batch: Batch): Tensor {
  const x = batch.x;
  if (x.ndim !== 2) throw new Error(`wavenet: expected a batch of waveforms [N, T], got ${shapeStr(x.shape)}`);
  return muLawEncodeTensor(x, model.config.mu);
}

const netOf = (model: Model<WaveNetFamilyConfig>) => (model as WaveNetModel).net;

export const wavenetFamily: Family<WaveNetFamilyConfig> = {
  name: 'wavenet',
  description: 'WaveNet: causal dilated convolutions, gated units, residual/skip connections, 256-way μ-law softmax; fast queued generation (van den Oord et al. 2016; Paine et al. 2016)',
  samplers: SAMPLERS,
  defaults(data: DataSpec): WaveNetFamilyConfig {
    checkAudio(data);
    return { mu: 255, sampleRate: 8000, stacks: 2, layersPerStack: 8, residualChannels: 32, gateChannels: 32, skipChannels: 64 };
  },
  create(config: WaveNetFamilyConfig, data: DataSpec, rng: Generator): WaveNetModel {
    checkAudio(data);
    if (!Number.isInteger(config.mu) || config.mu < 1) throw new Error(`wavenet: config.mu must be a positive integer (255 for 8-bit μ-law), got ${JSON.stringify(config.mu)}`);
    if (!Number.isInteger(config.sampleRate) || config.sampleRate < 1) throw new Error(`wavenet: config.sampleRate must be a positive integer (Hz), got ${JSON.stringify(config.sampleRate)}`);
    const { mu, sampleRate: _rate, ...rest } = config;
    const net = new WaveNet({ ...rest, quantization: mu + 1 }, { rng });
    return { family: 'wavenet', config, data, net };
  },
  loss(model: Model<WaveNetFamilyConfig>, batch: Batch): Tensor {
    return waveNetLoss(netOf(model), levelsOf(model, batch));
  },
  sample(model: Model<WaveNetFamilyConfig>, n: number, rng: Generator, opts: SampleOptions = {}): Tensor {
    const sampler = opts.sampler ?? 'fast';
    if (!(SAMPLERS as readonly string[]).includes(sampler)) throw new Error(`wavenet: unknown sampler '${sampler}' (${SAMPLERS.join(', ')})`);
    const T = model.data.shape[0]!;
    const gen = sampler === 'fast' ? fastGenerate : naiveGenerate;
    const levels = gen(netOf(model), n, T, rng, { temperature: opts.temperature ?? 1, signal: opts.signal });
    return noGrad(() => muLawDecodeTensor(levels, model.config.mu));
  },
  logLikelihood(model: Model<WaveNetFamilyConfig>, batch: Batch): { logLik: Tensor; bound: boolean } {
    return noGrad(() => ({ logLik: netOf(model).logProbs(levelsOf(model, batch)).sum(1), bound: false }));
  },
};
