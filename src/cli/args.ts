import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns for single-valued options, spelled out so declarations can name it. */
export interface ParsedArgs<O extends Options> {
  readonly values: { readonly [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean } & { readonly help?: boolean };
  readonly positionals: string[];
}

/**
 * node:util's parseArgs (strict), with its errors turned into one-line usage
 * errors and `--help` recognised for every command.
 */
export function parseCommandArgs<O extends Options>(command: string, argv: readonly string[], options: O): ParsedArgs<O> {
  try {
    const parsed = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedArgs<O>['values'], positionals: parsed.positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`${command}: ${message} (see \`turnstate ${command} --help\`)`);
  }
}

/** Parses a positive whole number option, or throws a usage error naming it. */
export function positiveInt(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${command}: --${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}
