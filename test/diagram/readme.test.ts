import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDiagrams } from '../../scripts/diagrams.js';
import { repoRoot } from '../support/corpus.js';

describe('the README’s diagrams', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

  it('are generated from the machine definitions, and not stale (npm run diagrams rewrites them)', () => {
    expect(readme).toContain('<!-- diagram:stream ');
    expect(readme).toContain('<!-- diagram:continuation ');
    expect(withDiagrams(readme), 'README.md: the machine diagrams are stale; run `npm run diagrams`').toBe(readme);
  });

  it('the check notices an edited diagram', () => {
    const edited = readme.replace('routingStopReason --> completed', 'routingStopReason --> refused');
    expect(edited).not.toBe(readme);
    expect(withDiagrams(edited)).toBe(readme);
  });
});
