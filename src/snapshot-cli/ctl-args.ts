// etcdctl's argument conventions for the `etcd-ts snapshot ...` subcommands:
// cobra/pflag flags (--name value, --name=value, -n value, -n=value, booleans
// without a value), "Error: <text>" on stderr and etcdctl's exit codes.

export const EXIT_ERROR = 1;
export const EXIT_BAD_FEATURE = 4;
export const EXIT_BAD_ARGS = 128;

/** Ends a subcommand with etcdctl's "Error: <message>" and this exit code. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** Where a subcommand writes (process streams in production, buffers in tests). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Splits args into positionals and flags. `known` maps each long flag to its
 * shorthand letter (or null); the flags in `bools` take no value ("true", or
 * --flag=false). An unknown flag is cobra's "unknown flag" error.
 */
export function parseCtlFlags(
  args: string[],
  known: Record<string, string | null>,
  bools: ReadonlySet<string> = new Set(['hex', 'skip-hash-check']),
): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const byShort = new Map(Object.entries(known).filter(([, s]) => s !== null).map(([l, s]) => [s!, l]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const long = a.startsWith('--');
    const body = a.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const rawName = eq >= 0 ? body.slice(0, eq) : body;
    const name = long ? rawName : byShort.get(rawName);
    if (name === undefined || !(name in known)) {
      throw new CliExit(EXIT_ERROR, long ? `unknown flag: --${rawName}` : `unknown shorthand flag: '${rawName}' in ${a}`);
    }
    if (bools.has(name)) {
      flags.set(name, eq >= 0 ? body.slice(eq + 1) : 'true');
      continue;
    }
    if (eq >= 0) flags.set(name, body.slice(eq + 1));
    else if (i + 1 < args.length) flags.set(name, args[++i]!);
    else throw new CliExit(EXIT_ERROR, `flag needs an argument: ${a}`);
  }
  return { positional, flags };
}

/** Go's os error text for a failed stat/open of `path`. */
export function goPathError(op: string, path: string, err: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
  };
  return `${op} ${path}: ${why[err.code ?? ''] ?? err.message}`;
}
