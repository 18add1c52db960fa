/** Argument parsing for the verbs: node:util's parseArgs with errors that say how to get help. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed values of options `O` (strings, booleans, or arrays of them for `multiple`), plus `help`. */
export type Values<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? (O[K] extends { multiple: true } ? boolean[] : boolean) : O[K] extends { multiple: true } ? string[] : string;
} & { help?: boolean };

/** Parse `argv` for `verb`; unknown options and missing values become UsageErrors naming `genlab <verb> --help`. */
export function parse<O extends Options>(verb: string, argv: string[], options: O, opts: { positionals?: [number, number] } = {}): { values: Values<O>; positionals: string[] } {
  let r: { values: Values<O>; positionals: string[] };
  try {
    r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as unknown as { values: Values<O>; positionals: string[] };
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${msg} (see 'genlab ${verb} --help')`, verb);
  }
  const [min, max] = opts.positionals ?? [0, 0];
  if (!r.values.help) {
    if (r.positionals.length < min) throw new UsageError(`missing argument (see 'genlab ${verb} --help')`, verb);
    if (r.positionals.length > max) throw new UsageError(`unexpected argument '${r.positionals[max]}' (see 'genlab ${verb} --help')`, verb);
  }
  return r;
}

/** A positive (or non-negative) integer option, or undefined when absent. */
export function intOption(verb: string, name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${v}'`, verb);
  return n;
}

/** A finite number option, or undefined when absent. */
export function numOption(verb: string, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`, verb);
  return n;
}
