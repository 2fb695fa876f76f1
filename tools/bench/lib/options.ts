// The command line every benchmark shares: --quick, --out DIR (default bench/results) and --help,
// besides its own options. --help prints the usage and exits 0; a mistake (an unknown option, a
// missing value) prints the mistake and the usage and exits 2, like the apps.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

const SHARED = {
  quick: { type: 'boolean', default: false },
  out: { type: 'string', default: 'bench/results' },
  help: { type: 'boolean', default: false },
} as const;

/** The benchmark's options: the shared ones and `own`, or the process ends on --help or a mistake. */
export function benchOptions<O extends Options>(
  usage: string,
  own: O,
  args: string[] = process.argv.slice(2),
): ReturnType<typeof parseArgs<{ args: string[]; options: typeof SHARED & O }>>['values'] {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof SHARED & O }>>['values'];
  try {
    ({ values } = parseArgs({ args, options: { ...SHARED, ...own } as typeof SHARED & O }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}
