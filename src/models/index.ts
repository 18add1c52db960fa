/**
 * The model registry: every generative family genlab ships, by name, in one explicit object.
 * The trainer, the CLI, the metrics and the studio look families up here; nothing registers
 * itself on import. A new family is added by adding a line to `families`.
 *
 * ```ts
 * import { families, familyByName } from 'genlab/models';
 * Object.keys(families);                // ['diffusion', 'nice', 'realnvp', 'glow', 'maf', 'cnf']
 * const f = familyByName('realnvp');    // throws, listing the valid names, for an unknown one
 * ```
 */
import type { Family } from './registry.ts';
import { diffusionFamily } from './diffusion/family.ts';
import { flowFamilies } from './flows/family.ts';
import { autoregressiveFamilies } from './autoregressive/family.ts';
import { wavenetFamily } from './wavenet/family.ts';
import { ganFamily } from './gan/family.ts';
import { ebmFamily } from './ebm/family.ts';
import { vaeFamilies } from './vae/family.ts';

export type { Family, Model, DataSpec, Batch, SampleOptions, TrainingPhase } from './registry.ts';

/** A family of any config type, as the registry holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFamily = Family<any>;

/** Every family by name. */
export const families: Readonly<Record<string, AnyFamily>> = Object.freeze({
  diffusion: diffusionFamily,
  ...flowFamilies,
  ...autoregressiveFamilies,
  wavenet: wavenetFamily,
  gan: ganFamily,
  ebm: ebmFamily,
  ...vaeFamilies,
});

/** The family called `name`; an unknown name is an error that lists the valid ones. */
export function familyByName(name: string): AnyFamily {
  const f = Object.hasOwn(families, name) ? families[name] : undefined;
  if (!f) throw new Error(`unknown model family '${name}' (available: ${Object.keys(families).join(', ')})`);
  return f;
}
