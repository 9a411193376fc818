import { describe, expect, it } from 'vitest';
import { cli } from '../controller/fixtures/cli.js';

// Every numeric flag of every command, with what it accepts: checked before any work (no key, no file needed).
const FLAGS: { command: string[]; flag: string; zero: boolean }[] = [
  { command: ['run'], flag: '--max-tokens', zero: false },
  { command: ['run'], flag: '--max-continuations', zero: true },
  { command: ['run'], flag: '--deadline-ms', zero: false },
  { command: ['resume', 'ck.json'], flag: '--max-continuations', zero: true },
  { command: ['resume', 'ck.json'], flag: '--deadline-ms', zero: false },
  { command: ['demo'], flag: '--delay-ms', zero: true },
];
const BAD = ['-5', '-0', 'abc', '1.5', '1e3', '0x10', ' 7', '', '9007199254740993', 'Infinity'];

describe('numeric flags', () => {
  for (const { command, flag, zero } of FLAGS) {
    it(`${command[0]} ${flag}: says what is wrong with a bad value (exit 2)`, async () => {
      for (const value of BAD) {
        const out = await cli([...command, flag, value, 'prompt'].slice(0, command[0] === 'run' ? undefined : -1), { ANTHROPIC_API_KEY: 'k' });
        expect(out.code, `${flag} ${JSON.stringify(value)}`).toBe(2);
        expect(out.stderr).toBe(`turnstate: ${command[0]}: ${flag} must be ${zero ? 'an integer ≥ 0' : 'a positive integer'}, got ${JSON.stringify(value)}\n`);
      }
      // the --flag=value spelling says the same
      expect((await cli([...command, `${flag}=-5`], {})).stderr).toContain(`${flag} must be`);
      const z = await cli([...command, flag, '0'], {});
      if (zero) expect(z.stderr).not.toContain(`${flag} must be`);
      else expect(z.stderr).toContain(`${flag} must be a positive integer, got "0"`);
    });
  }

  it('--max-tokens -5 is not "ambiguous"', async () => {
    const out = await cli(['run', '--max-tokens', '-5', 'hi'], { ANTHROPIC_API_KEY: 'x' });
    expect(out.code).toBe(2);
    expect(out.stderr).not.toMatch(/ambiguous/);
    expect(out.stderr).toBe('turnstate: run: --max-tokens must be a positive integer, got "-5"\n');
  });

  it('a value after -- stays a positional, and an unknown flag is still an unknown flag', async () => {
    expect((await cli(['run', '--bogus', '-5', 'hi'], { ANTHROPIC_API_KEY: 'x' })).stderr).toMatch(/Unknown option '--bogus'/);
  });
});
