/**
 * The README's machine diagrams, generated from the definitions
 * (`turnstate diagram … --no-actions`): `npm run diagrams` rewrites them,
 * `--check` exits 1 when a committed one is stale (test/diagram/readme.test.ts
 * runs the same check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MACHINES, toMermaid, type MachineName } from '../src/diagram/index.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** The README with every `<!-- diagram:NAME -->` … `<!-- /diagram:NAME -->` region regenerated. */
export function withDiagrams(readme: string): string {
  return readme.replace(/(<!-- diagram:(\w+) [^>]*-->\n)[\s\S]*?(<!-- \/diagram:\2 -->)/g, (_all, open: string, name: string, close: string) => {
    if (!(name in MACHINES)) throw new Error(`README names an unknown machine: ${name}`);
    return `${open}\`\`\`mermaid\n${toMermaid(MACHINES[name as MachineName], { actions: false })}\`\`\`\n${close}`;
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(README, 'utf8');
  const fresh = withDiagrams(current);
  if (process.argv.includes('--check')) {
    if (fresh !== current) {
      process.stderr.write('README.md: the machine diagrams are stale; run `npm run diagrams`\n');
      process.exit(1);
    }
  } else if (fresh !== current) {
    writeFileSync(README, fresh);
    process.stdout.write('README.md: diagrams regenerated\n');
  }
}
