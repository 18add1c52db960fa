/**
 * Trains NICE, RealNVP, Glow-style, MAF and the continuous flow on two moons, 8 Gaussians and the
 * checkerboard; reports the held-out NLL in nats and writes density plots (PNG).
 *
 *   npx tsx scripts/flows-2d.ts [--steps 1000] [--batch 256] [--lr 1e-3] [--test 5000] [--seed 0]
 *       [--families nice,realnvp,glow,maf,cnf] [--datasets twoMoons,eightGaussians,checkerboard]
 *       [--res 128] [--out runs/flows-2d] [--compare runs/flows-2d-torch/results.json] [--plot-only]
 *
 * Budget (the defaults): 1000 Adam steps at lr 1e-3 on fresh batches of 256 points, the families'
 * default architectures (src/models/flows/family.ts), held-out NLL on 5000 points. The PyTorch
 * twin, scripts/fixtures/flows_2d_torch.py, builds the same architectures and runs the same budget;
 * with --compare pointing at its results.json, the table shows both NLLs and `compare.png` puts
 * both sets of densities side by side (genlab left, PyTorch right, one row per data set).
 * Results accumulate in <out>/results.json across invocations; --plot-only trains nothing and only
 * prints the table and draws the figure from it.
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, getBackend } from '../src/index.ts';
import { encodePng, heatmap, type PngImage } from '../src/data/png.ts';
import { trainFlow2d, densityGrid, BOUNDS, type Flow2dFamily, type Toy } from './flows-2d-lib.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const steps = Number(arg('steps', '1000'));
const batchSize = Number(arg('batch', '256'));
const lr = Number(arg('lr', '1e-3'));
const testSize = Number(arg('test', '5000'));
const seed = Number(arg('seed', '0'));
const res = Number(arg('res', '128'));
const families = arg('families', 'nice,realnvp,glow,maf,cnf').split(',') as Flow2dFamily[];
const datasets = arg('datasets', 'twoMoons,eightGaussians,checkerboard').split(',') as Toy[];
const out = arg('out', 'runs/flows-2d');
const compare = arg('compare', '');
const plotOnly = process.argv.includes('--plot-only');
mkdirSync(out, { recursive: true });

interface Entry { family: string; dataset: string; testNll: number; finalLoss: number; seconds: number; finite: boolean; density?: number[] }
const resultsPath = join(out, 'results.json');
const results: Entry[] = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as { results: Entry[] }).results : [];

console.log(`backend ${getBackend().name}; budget: ${steps} steps × batch ${batchSize}, Adam lr ${lr}; held-out ${testSize} points`);
for (const dataset of plotOnly ? [] : datasets) {
  for (const family of families) {
    const r = trainFlow2d({ family, dataset, steps, batchSize, lr, seed, testSize, logEvery: Math.max(1, Math.floor(steps / 5)), onLog: (s, l) => console.log(`  ${family} ${dataset} step ${s}: loss ${l.toFixed(3)}`) });
    const density = densityGrid(r.model, BOUNDS[dataset], res, new Generator(seed + 1));
    await writePng(join(out, `${family}-${dataset}.png`), heatmap(density, res, res));
    const last = r.losses.slice(-50);
    const entry: Entry = { family, dataset, testNll: r.testNll, finalLoss: last.reduce((a, b) => a + b, 0) / last.length, seconds: r.seconds, finite: r.finite, density: Array.from(density, (v) => Number(v.toPrecision(5))) };
    const k = results.findIndex((e) => e.family === family && e.dataset === dataset);
    if (k >= 0) results[k] = entry;
    else results.push(entry);
    writeFileSync(resultsPath, JSON.stringify({ budget: { steps, batchSize, lr, testSize, seed, res }, results }));
    console.log(`${family} ${dataset}: held-out NLL ${r.testNll.toFixed(3)} nats (${r.seconds.toFixed(0)} s)`);
  }
}

// ---- table (and the PyTorch twin's numbers, if given) ----
const torch: Entry[] = compare && existsSync(compare) ? (JSON.parse(readFileSync(compare, 'utf8')) as { results: Entry[] }).results : [];
const find = (rs: Entry[], f: string, d: string) => rs.find((e) => e.family === f && e.dataset === d);
const allFamilies = [...new Set(results.map((e) => e.family))];
const allDatasets = [...new Set(results.map((e) => e.dataset))];
console.log(`\nheld-out NLL (nats)${torch.length ? '  genlab / PyTorch' : ''}`);
console.log(['family', ...allDatasets].map((s) => s.padEnd(24)).join(''));
for (const f of allFamilies) {
  const cells = allDatasets.map((d) => {
    const g = find(results, f, d), t = find(torch, f, d);
    return `${g ? g.testNll.toFixed(3) : '—'}${torch.length ? ` / ${t ? t.testNll.toFixed(3) : '—'}` : ''}`;
  });
  console.log([f, ...cells].map((s) => s.padEnd(24)).join(''));
}

// ---- one figure: rows = data sets, columns = families (genlab | PyTorch when comparing) ----
const tiles: (number[] | undefined)[][] = allDatasets.map((d) => allFamilies.flatMap((f) => (torch.length ? [find(results, f, d)?.density, find(torch, f, d)?.density] : [find(results, f, d)?.density])));
await writePng(join(out, torch.length ? 'compare.png' : 'all.png'), mosaic(tiles, res, 4));

function mosaic(grid: (number[] | undefined)[][], r: number, pad: number): PngImage {
  const rows = grid.length, cols = grid[0]?.length ?? 0;
  const width = cols * (r + pad) + pad, height = rows * (r + pad) + pad;
  const px = new Uint8Array(width * height * 3).fill(255);
  grid.forEach((row, i) => row.forEach((d, j) => {
    if (!d || d.length !== r * r) return;
    const img = heatmap(d, r, r);
    for (let y = 0; y < r; y++) px.set(img.pixels.subarray(y * r * 3, (y + 1) * r * 3), ((pad + i * (r + pad) + y) * width + pad + j * (r + pad)) * 3);
  }));
  return { width, height, channels: 3, pixels: px };
}

async function writePng(path: string, img: PngImage): Promise<void> {
  writeFileSync(path, await encodePng(img));
}
