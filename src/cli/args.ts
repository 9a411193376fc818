import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns, spelled out so declarations can name it (`multiple` options give arrays). */
export interface ParsedArgs<O extends Options> {
  readonly values: {
    readonly [K in keyof O]?: O[K]['type'] extends 'string' ? (O[K]['multiple'] extends true ? string[] : string) : boolean;
  } & { readonly help?: boolean };
  readonly positionals: string[];
}

/**
 * node:util's parseArgs (strict), with its errors turned into one-line usage
 * errors and `--help` recognised for every command.
 *
 * parseArgs refuses `--max-tokens -5` as "ambiguous" (the value looks like a
 * flag), which hides the real problem; a value that looks like a negative
 * number is therefore passed to it as `--max-tokens=-5`, and the option's own
 * check then says what is wrong with it.
 */
export function parseCommandArgs<O extends Options>(command: string, argv: readonly string[], options: O): ParsedArgs<O> {
  const args = joinNegativeValues(argv, options);
  try {
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedArgs<O>['values'], positionals: parsed.positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`${command}: ${message} (see \`turnstate ${command} --help\`)`);
  }
}

function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const takesValue = new Set<string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (option.short !== undefined) takesValue.add(`-${option.short}`);
  }
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (takesValue.has(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      args.push(`${arg}=${next}`);
      i += 1;
    } else args.push(arg);
  }
  return args;
}

/** Reads a whole number in decimal digits only: no sign, exponent, hex, blanks or fraction. */
function wholeNumber(command: string, name: string, value: string, what: string, min: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${command}: --${name} must be ${what}, got ${JSON.stringify(value)}`);
  return n;
}

/** A positive whole number option (1, 2, …), or a usage error naming it. */
export function positiveInt(command: string, name: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : wholeNumber(command, name, value, 'a positive integer', 1);
}

/** A whole number option that may be 0 (a budget of none, no delay), or a usage error naming it. */
export function nonNegativeInt(command: string, name: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : wholeNumber(command, name, value, 'an integer ≥ 0', 0);
}

/** `--idle-timeout MS`: a whole number of milliseconds, 0 for no limit. */
export function idleTimeoutOption(command: string, value: string | undefined): { idleTimeoutMs?: number } {
  if (value === undefined) return {};
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${command}: --idle-timeout must be a whole number of milliseconds (0: no limit), got ${JSON.stringify(value)}`);
  return { idleTimeoutMs: n };
}
