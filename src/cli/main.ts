/**
 * The `genlab` command line (Node-only): train, sample, eval, list, info. `main(argv)` returns the
 * exit code: 0 success, 1 failure, 2 a usage mistake, 130 interrupted by Ctrl-C. Errors are
 * printed as one readable message; `--debug` adds the stack trace.
 */
import { MAIN_HELP, TRAIN_HELP, SAMPLE_HELP, EVAL_HELP, LIST_HELP, INFO_HELP } from './help.ts';
import { UsageError, CliError } from './errors.ts';

type Command = (argv: string[]) => Promise<number>;

/** The verbs; each command's module (and so the library and its backends) loads only when it runs. */
const VERBS: Record<string, { load: () => Promise<Command>; help: string }> = {
  train: { load: async () => (await import('./train.ts')).trainCommand, help: TRAIN_HELP },
  sample: { load: async () => (await import('./sample.ts')).sampleCommand, help: SAMPLE_HELP },
  eval: { load: async () => (await import('./eval.ts')).evalCommand, help: EVAL_HELP },
  list: { load: async () => (await import('./inspect.ts')).listCommand, help: LIST_HELP },
  info: { load: async () => (await import('./inspect.ts')).infoCommand, help: INFO_HELP },
};

export { MAIN_HELP };

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const [verb, ...rest] = args;
  if (verb === undefined) {
    console.error(MAIN_HELP);
    return 2;
  }
  if (verb === '--help' || verb === '-h' || verb === 'help') {
    const topic = verb === 'help' ? rest[0] : undefined;
    console.log(topic && VERBS[topic] ? VERBS[topic].help : MAIN_HELP);
    return 0;
  }
  const cmd = Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined;
  if (!cmd) {
    console.error(`genlab: unknown command '${verb}' (commands: ${Object.keys(VERBS).join(', ')}; see 'genlab --help')`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return 0;
  }
  try {
    await import('../index.ts'); // the library, with its backends registered
    return await (await cmd.load())(rest);
  } catch (err) {
    const code = err instanceof UsageError || err instanceof CliError ? err.exitCode : 1;
    console.error(`genlab ${verb}: error: ${messageOf(err)}`);
    if (debug && err instanceof Error) console.error(err.stack);
    return code;
  }
}
