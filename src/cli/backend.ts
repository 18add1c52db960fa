/** The --backend option. */
import { backendNames, getBackend, setBackend } from '../core/index.ts';
import { UsageError } from './errors.ts';

/** Switch to the named backend (unknown names list the available ones); returns the one in use. */
export function selectBackend(verb: string, name: string | undefined): string {
  if (name !== undefined) {
    if (!backendNames().includes(name)) throw new UsageError(`unknown backend '${name}' (available: ${backendNames().join(', ')})`, verb);
    setBackend(name);
  }
  return getBackend().name;
}
