/**
 * The help texts of the command line, and the metric names they list. Kept apart from the
 * commands so that `genlab --help` and usage errors answer without loading the library.
 */

export interface MetricInfo {
  name: string;
  description: string;
  kind: 'points' | 'images' | 'both';
  /** Needs the model (a likelihood), not just samples. */
  needsModel?: boolean;
  /** Only for built-in data sets (their reference distribution or feature network). */
  builtinOnly?: string;
}

/** The metrics of `genlab eval` (names as src/metrics/evaluate.ts's). */
export const METRICS: readonly MetricInfo[] = [
  { name: 'swd', kind: 'points', description: 'sliced Wasserstein-2 distance between samples and data (256 random directions; lower is better)' },
  { name: 'mmd', kind: 'points', description: 'squared MMD with a Gaussian kernel (median bandwidth) between samples and data (lower is better)' },
  { name: 'kl', kind: 'points', builtinOnly: 'a 2-D set', description: 'KL(data ‖ samples) between 64×64 histograms (built-in 2-D sets)' },
  { name: 'js', kind: 'points', builtinOnly: 'a 2-D set', description: 'Jensen–Shannon divergence between 64×64 histograms (built-in 2-D sets)' },
  { name: 'modes', kind: 'points', builtinOnly: '8gaussians, grid or ring', description: 'Gaussian mixtures (8gaussians, grid, ring): modes captured and share of high-quality samples (within 3 std)' },
  { name: 'nll', kind: 'points', needsModel: true, description: 'held-out negative log-likelihood in nats per point (flows exact; diffusion by the probability-flow ODE, slow)' },
  { name: 'fid', kind: 'images', builtinOnly: 'mnist or fashion-mnist', description: "Fréchet distance on genlab's own MNIST / Fashion-MNIST feature network (not Inception: compare only genlab FIDs)" },
  { name: 'kid', kind: 'images', builtinOnly: 'mnist or fashion-mnist', description: 'kernel inception distance on the same features, with its standard error' },
  { name: 'is', kind: 'images', builtinOnly: 'mnist or fashion-mnist', description: "Inception Score on genlab's classifier" },
  { name: 'pr', kind: 'images', builtinOnly: 'mnist or fashion-mnist', description: 'precision and recall (k-NN manifolds, k = 3) on the same features' },
  { name: 'bpd', kind: 'images', needsModel: true, description: 'held-out bits per dimension of 8-bit pixels (an upper bound for dequantised flows; diffusion by the ODE, slow)' },
];

export const MAIN_HELP = `genlab — deep generative models in TypeScript

Usage:
  genlab <command> [options]          (genlab <command> --help for each)

Commands:
  train <preset|model> --data <set>   train a model, with a progress bar, checkpoints and metrics
  sample <run>                        draw samples: pictures, CSV, animations of the trajectory
  eval <run>                          metrics against held-out data
  list [models|presets|samplers|datasets|metrics]
  info <run>                          what a run holds

Examples:
  genlab train edm-moons              a small diffusion model on two moons (about a minute)
  genlab sample runs/edm-moons --animate runs/edm-moons/trajectory.gif
  genlab eval runs/edm-moons
  genlab list presets`;

export const TRAIN_HELP = `genlab train — train a generative model, or resume a run

Usage:
  genlab train <preset|model> [--data <set|path>] [options]
  genlab train --resume <run> [--steps n] [--set train.key=value …]

<preset> is a file in presets/ (see 'genlab list presets') or a path to a preset .json;
<model> is a model family (see 'genlab list models'), trained with its defaults.

Options:
  --data <set|path>     a built-in data set (see 'genlab list datasets'), a folder of PNG
                        images, a .csv file of points, a folder of MNIST-style IDX files, or
                        audio: a .wav file or a folder of .wav files (16-bit PCM; stereo is
                        mixed down; different rates need --set data.sampleRate=<Hz>)
  --data-path <dir>     where to look for mnist / fashion-mnist / digits
  --clip <T>            audio: samples per training clip (data.clip, default 4000); the
                        audio is cut into clips of T samples, the model generates T at a time;
                        on audio, train.batchSize defaults to 8 clips
  --config <file.json>  a preset-shaped JSON merged over the preset
  --set key=value       change any field of the run config, by dotted path; repeatable
                        (e.g. --set train.lr=3e-4 --set model.net.hidden=64 --set data.size=5000)
  --steps <n>           total training steps (train.steps); with --resume, extends the run
                        (and so the learning-rate schedule)
  --until <step>        stop at this step with a checkpoint; --resume continues exactly as if
                        the run had not stopped (so does a run stopped with Ctrl-C)
  --seed <n>            seed of initialisation, data order and training noise (train.seed)
  --out <dir>           the run directory (default runs/<preset or model>, numbered if taken)
  --resume              continue the run in <run> (or --out) exactly where its checkpoint left off
  --backend <name>      compute backend (cpu, wasm, …)
  --quiet               no progress output
  -h, --help            this help

Writes <out>/config.json (the resolved config), <out>/checkpoint/ (weights, EMA weights,
optimizer and trainer state; every train.checkpointEvery steps and at the end, atomically),
<out>/metrics.jsonl (one JSON line per train.logEvery steps) and pictures of samples.
Ctrl-C stops after the current step and saves a checkpoint (exit code 130); a NaN or infinite
loss stops the run (exit code 1) and leaves the last checkpoint as it was.

Examples:
  genlab train edm-moons
  genlab train ddpm-moons --steps 3000 --set train.lr=2e-3 --out runs/ddpm
  genlab train diffusion --data 8gaussians --set model.net.hidden=64
  genlab train realnvp --data my-points.csv
  genlab train wavenet --data sines --clip 1024 --set train.batchSize=8
  genlab train wavenet --data my-recordings/ --clip 4000
  genlab train edm-moons --until 1000 --out runs/edm   (then: genlab train --resume runs/edm)
  genlab train --resume runs/ddpm --steps 5000`;

export const SAMPLE_HELP = `genlab sample — draw samples from a trained model

Usage:
  genlab sample <run> [options]

Options:
  --sampler <name>     sampler (default: the model's; 'genlab list samplers' shows them all)
  --steps <n>          number of sampler steps (default: the model's)
  --guidance <w>       classifier-free guidance weight (class-conditional diffusion models)
  --class <k>          draw class k only (class-conditional models)
  --temperature <t>    temperature of the base distribution (flows) or of the softmax (wavenet)
  --n <count>          how many samples (default 2000 points, 64 images or 1 audio clip)
  --seed <s>           seed of the sampling noise (default 0)
  --out <file>         .png picture (default <run>/sample.png); .csv for points writes the numbers;
                       audio: a .wav file (default <run>/sample.wav; <name>-1.wav … for --n > 1)
  --animate <file>     also write the sampling trajectory from noise to data: .gif, or .png (APNG)
  --weights ema|train  the EMA weights (default) or the last training weights
  --backend <name>     compute backend
  -h, --help           this help

Examples:
  genlab sample runs/edm-moons --sampler euler --steps 30 --out euler.png
  genlab sample runs/edm-moons --animate trajectory.gif
  genlab sample runs/fashion --class 7 --guidance 2 --n 36
  genlab sample runs/wavenet-sines --n 4 --temperature 0.9 --out tones.wav`;

export const EVAL_HELP = `genlab eval — measure a trained model (or samples) against a data set

Usage:
  genlab eval <run> [--metrics m1,m2,…] [options]
  genlab eval <samples.csv> --data <set|path> [--metrics …]
  genlab eval <folder of PNGs> --data mnist|fashion-mnist [--metrics fid,kid,is,pr]

Metrics (see 'genlab list metrics'):
${METRICS.map((m) => `  ${m.name.padEnd(6)} ${m.description}`).join('\n')}
Default: swd,mmd (and modes on Gaussian mixtures, nll for flows) on points; fid,kid on MNIST and
Fashion-MNIST (and bpd for flows); audio runs (wavenet): the held-out NLL in nats and bits per
sample, over up to --n held-out clips (default 256).

Options:
  --metrics <list>    comma-separated metric names
  --data <set|path>   the reference data (default: the run's own data)
  --data-path <dir>   where to look for mnist / fashion-mnist
  --n <count>         samples to draw (default 2000 points, 1000 images)
  --seed <s>          seed of the sampling noise and the metrics' draws (default 0)
  --sampler <name>    sampler for the samples (default: the model's)
  --steps <n>         sampler steps
  --out <file.json>   where to write the results (default <run>/eval.json)
  --backend <name>    compute backend
  -h, --help          this help

Examples:
  genlab eval runs/edm-moons
  genlab eval runs/edm-moons --metrics swd,kl --sampler euler --steps 10
  genlab eval my-samples.csv --data moons
  genlab eval runs/fashion --metrics fid,kid,pr --n 2000`;

export const LIST_HELP = `genlab list — what genlab can train, sample and measure

Usage:
  genlab list [models|presets|samplers|datasets|metrics]

Without an argument, lists everything.`;

export const INFO_HELP = `genlab info — describe a run: model, data, training progress, latest metrics, files

Usage:
  genlab info <run>`;
