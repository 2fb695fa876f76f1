// @rapo/cli: what the rapo command lines (rapo-train, rapo-eval, rapo-serve) do alike with their
// arguments. A mistake on the command line is a UsageError: the app prints it with a short usage
// and exits with code 2, so scripts can tell "you called it wrong" (2) from "it failed" (1).
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the app cannot run: the message says what is wrong and what to give instead. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The exit code of a usage error. */
export const USAGE_EXIT = 2;

/** node:util's parseArgs, with its complaints (an unknown option, a missing value) as UsageErrors. */
export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * `parse()`'s arguments; when it throws a UsageError, `<program>: <message>` and then `usage` go
 * to stderr and the result is USAGE_EXIT instead. Any other error propagates.
 */
export function parseCommandLine<A>(program: string, usage: string, parse: () => A): A | typeof USAGE_EXIT {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${program}: ${e.message}\n\n${usage}`);
    return USAGE_EXIT;
  }
}
