#!/usr/bin/env node
// npm run test:compat — turnstate as a user installs it, against the newest SDK.
//
// 1. `npm pack` this repository (the `prepare` script builds it first);
// 2. a scratch consumer in a temp dir installs the tarball, @anthropic-ai/sdk
//    (`latest` from the registry, or COMPAT_SDK=<version>), typescript and
//    @types/node (the versions this repo pins);
// 3. every ```ts block of README.md becomes a module there, plus the checks in
//    scripts/compat/*.ts; all are compiled with `tsc` (strict, nodenext, no
//    skipLibCheck: turnstate's .d.ts are checked against that SDK's too);
// 4. each compiled module runs in its own empty cwd with ANTHROPIC_BASE_URL
//    pointing at turnstate/testing's fake Messages API, and must exit 0 and
//    print no deprecation warning.
//
// The fake API answers every request the same mechanical way (see `reply`):
// a request offering client tools, whose last message is not a tool result,
// gets a tool_use call of the first tool with an input built from its schema;
// anything else gets an end_turn text. An example that cannot run like that
// (it needs a real key, say) is marked with `<!-- compat: compile-only -->` on
// the line before its fence.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const sdkSpec = process.env.COMPAT_SDK || 'latest';
const keep = process.env.COMPAT_KEEP === '1';
const started = Date.now();
const log = (line) => process.stdout.write(`compat: ${line} [${((Date.now() - started) / 1000).toFixed(1)} s]\n`);

async function sh(command, args, options = {}) {
  try {
    return await run(command, args, { maxBuffer: 64 * 1024 * 1024, ...options });
  } catch (error) {
    process.stderr.write(`${error.stdout ?? ''}${error.stderr ?? ''}`);
    throw new Error(`compat: \`${command} ${args.join(' ')}\` failed (exit ${error.code})`);
  }
}

/** The ```ts / ```typescript blocks of a Markdown text, in order, with the heading above each. */
export function tsBlocks(markdown) {
  const blocks = [];
  let heading = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(line);
    if (!open) continue;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(open[1].length));
    if (j === lines.length) throw new Error(`README.md:${i + 1}: a \`\`\`${open[2]} block that never closes`);
    const compileOnly = /<!--\s*compat:\s*compile-only\s*-->/.test(lines[i - 1] ?? '');
    blocks.push({ line: i + 1, heading, code: body.join('\n'), compileOnly });
    i = j;
  }
  return blocks;
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'top';
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'turnstate-compat-'));
  try {
    // 1. The tarball, exactly what `npm publish` would upload. `npm pack` builds
    // first (the prepare script); COMPAT_PREBUILT=1 skips that when dist/ was
    // just built from this tree (CI: by `npm ci`).
    const prebuilt = process.env.COMPAT_PREBUILT === '1';
    const { stdout: packed } = await sh('npm', ['pack', '--json', '--pack-destination', work, ...(prebuilt ? ['--ignore-scripts'] : [])], { cwd: repo });
    const tarball = join(work, JSON.parse(packed.slice(packed.indexOf('[')))[0].filename);
    log(`packed ${tarball.slice(work.length + 1)}${prebuilt ? ' (dist/ as built)' : ''}`);

    // 2. The consumer.
    const app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'turnstate-compat-consumer', private: true, type: 'module' }, null, 2));
    const dev = pkg.devDependencies;
    await sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, `@anthropic-ai/sdk@${sdkSpec}`, `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`,
      // vitest: the README's useCassette example is a test file, importing turnstate/testing/vitest (an optional peer);
      // @restatedev/restate-sdk: the Scaling out example binds turnstate/restate's object (another optional peer).
      `vitest@${dev.vitest}`, `@restatedev/restate-sdk@${dev['@restatedev/restate-sdk']}`], { cwd: app });
    const sdkVersion = JSON.parse(readFileSync(join(app, 'node_modules/@anthropic-ai/sdk/package.json'), 'utf8')).version;
    const { stdout: newest } = await sh('npm', ['view', '@anthropic-ai/sdk', 'version'], { cwd: app });
    log(`installed @anthropic-ai/sdk ${sdkVersion} (newest on the registry: ${newest.trim()}; turnstate's peer range: ${pkg.peerDependencies?.['@anthropic-ai/sdk']})`);
    // npm view may answer from its cache while the install saw a fresher packument: newer than that is fine, older is not.
    const older = (a, b) => {
      const [x, y] = [a, b].map((v) => v.split(/[.+-]/).slice(0, 3).map(Number));
      for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
      return false;
    };
    if (sdkSpec === 'latest' && older(sdkVersion, newest.trim())) throw new Error(`compat: expected the newest SDK ${newest.trim()}, got ${sdkVersion}`);
    // One copy of the SDK: turnstate must use the consumer's, not bring its own.
    const copies = (await sh('npm', ['ls', '@anthropic-ai/sdk', '--all', '--parseable'], { cwd: app })).stdout.trim().split('\n').filter(Boolean);
    if (copies.length !== 1) throw new Error(`compat: ${copies.length} copies of @anthropic-ai/sdk installed:\n${copies.join('\n')}`);

    // 3. The modules: the README's examples and the compat checks.
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const blocks = tsBlocks(readme);
    if (blocks.length === 0) throw new Error('compat: README.md has no ```ts examples');
    const modules = [];
    blocks.forEach((block, n) => {
      const name = `readme-${String(n + 1).padStart(2, '0')}-${slug(block.heading)}`;
      // `export {}` keeps a block without imports a module (top-level await needs one).
      writeFileSync(join(app, 'src', `${name}.ts`), `// README.md line ${block.line} (${block.heading})\n${block.code}\nexport {};\n`);
      modules.push({ name, source: `README.md:${block.line}`, run: !block.compileOnly });
    });
    for (const file of readdirSync(join(repo, 'scripts', 'compat')).filter((f) => f.endsWith('.ts')).sort()) {
      writeFileSync(join(app, 'src', file), readFileSync(join(repo, 'scripts', 'compat', file)));
      modules.push({ name: file.slice(0, -3), source: `scripts/compat/${file}`, run: true });
    }
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', lib: ['ES2023'], types: ['node'], module: 'nodenext', moduleResolution: 'nodenext',
        strict: true, noUncheckedIndexedAccess: true, skipLibCheck: false, outDir: 'dist', rootDir: 'src',
      },
      include: ['src'],
    }, null, 2));
    const tsc = await run(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: app }).then(() => null, (error) => error);
    if (tsc) {
      process.stderr.write(`${tsc.stdout}${tsc.stderr}`);
      throw new Error(`compat: the examples do not compile against @anthropic-ai/sdk ${sdkVersion} (sources kept in ${app}/src)`);
    }
    log(`${modules.length} modules compiled with tsc ${dev.typescript} (strict) against @anthropic-ai/sdk ${sdkVersion}: ${blocks.length} README examples, ${modules.length - blocks.length} compat checks`);

    // 4. Run them against the fake API, from the consumer's own turnstate.
    const testing = await import(pathToFileURL(join(app, 'node_modules/turnstate/dist/src/testing/index.js')).href);
    const api = await testing.startFakeMessagesApi({ replies: (request) => reply(testing, request) });
    const failures = [];
    try {
      for (const module of modules.filter((m) => m.run)) {
        const cwd = mkdtempSync(join(work, `cwd-${module.name}-`));
        const result = await runModule(join(app, 'dist', `${module.name}.js`), cwd, api.url);
        const deprecation = /is deprecated/.test(result.output);
        const ok = result.code === 0 && !deprecation;
        log(`${ok ? 'ok  ' : 'FAIL'} ${module.name} (${module.source}) ${result.ms} ms${result.code === 0 ? '' : `, exit ${result.code}`}${deprecation ? ', printed a deprecation warning' : ''}`);
        if (!ok) failures.push({ module, result });
      }
    } finally {
      await api.close();
    }
    for (const m of modules.filter((m) => !m.run)) log(`skip ${m.name} (${m.source}): compile-only`);
    for (const { module, result } of failures) process.stderr.write(`\n--- ${module.name} (${module.source}) output:\n${result.output}\n`);
    if (failures.length > 0) throw new Error(`compat: ${failures.length} module(s) failed against @anthropic-ai/sdk ${sdkVersion}`);
    log(`all passed against @anthropic-ai/sdk ${sdkVersion}`);
  } finally {
    if (keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** A value that satisfies a JSON Schema's `required` properties, mechanically. */
function sample(schema) {
  switch (schema?.type) {
    case 'object': {
      const out = {};
      for (const key of schema.required ?? []) out[key] = sample(schema.properties?.[key]);
      return out;
    }
    case 'array': return [];
    case 'number': case 'integer': return 1;
    case 'boolean': return true;
    default: return schema?.enum?.[0] ?? 'Oslo';
  }
}

let calls = 0;
function reply(testing, request) {
  const body = request.body ?? {};
  const last = body.messages?.at(-1);
  const answeredTools = Array.isArray(last?.content) && last.content.some((block) => block?.type === 'tool_result');
  const tool = (body.tools ?? []).find((t) => t && typeof t === 'object' && 'input_schema' in t);
  if (tool && !answeredTools) {
    calls += 1;
    return testing.sseFromMessage({ content: [{ type: 'tool_use', id: `toolu_compat_${calls}`, name: tool.name, input: sample(tool.input_schema) }], stopReason: 'tool_use' });
  }
  return testing.sseFromMessage({ content: [{ type: 'text', text: 'Hello from the fake Messages API.' }], stopReason: 'end_turn' });
}

function moduleEnv(baseURL) {
  const env = { ...process.env, ANTHROPIC_BASE_URL: baseURL, ANTHROPIC_API_KEY: 'compat-test' };
  delete env.ANTHROPIC_AUTH_TOKEN;
  return env;
}

function runModule(file, cwd, baseURL) {
  const begun = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], {
      cwd,
      env: moduleEnv(baseURL),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += '\n[compat: killed after 60 s]';
      child.kill('SIGKILL');
    }, 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, output, ms: Date.now() - begun });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
