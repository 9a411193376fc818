import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { EXIT, UsageError, type Command } from '../io.js';

const FORMATS = ['mermaid', 'dot', 'svg', 'json'] as const;
type Format = (typeof FORMATS)[number];
const MACHINE_NAMES = ['stream', 'continuation'] as const;

const HELP = `Usage: turnstate diagram stream|continuation [--format mermaid|dot|svg|json] [--out FILE] [--no-actions]

Draws one of turnstate's machines, generated from its definition: every state
(nested and final), every transition — eventless (always), invoke done/error,
wildcard and targetless ones included — labelled with its event, its guard
and the guard's parameters, numbered in the order XState tries them.

  stream         the grammar of one Messages API stream
  continuation   the agent loop (continuation controller)
  --format F     mermaid (default), dot (Graphviz), svg (Graphviz, rendered
                 offline), json (the graph: states and transitions)
  --out FILE     write to FILE instead of standard output
  --no-actions   leave actions off the transition labels
  -h, --help     this text`;

export const diagramCommand: Command = {
  name: 'diagram',
  summary: 'draw the stream or continuation machine (mermaid, dot, svg, json) from its definition',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('diagram', argv, {
      format: { type: 'string' },
      out: { type: 'string' },
      'no-actions': { type: 'boolean' },
    });
    const [name, ...extra] = positionals;
    if (name === undefined || !(MACHINE_NAMES as readonly string[]).includes(name) || extra.length > 0) {
      throw new UsageError(`diagram: name one machine: ${MACHINE_NAMES.join(' or ')} (see \`turnstate diagram --help\`)`);
    }
    const format = (values.format ?? 'mermaid') as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`diagram: --format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(values.format)}`);
    const diagram = await import('../../diagram/index.js');
    const machine = diagram.MACHINES[name as keyof typeof diagram.MACHINES];
    const options = { actions: !(values['no-actions'] ?? false) };
    const text =
      format === 'mermaid'
        ? diagram.toMermaid(machine, options)
        : format === 'dot'
          ? diagram.toDot(machine, options)
          : format === 'svg'
            ? await diagram.toSvg(machine, options)
            : `${JSON.stringify(diagram.machineGraph(machine), null, 2)}\n`;
    if (values.out === undefined) {
      io.stdout(text);
      return EXIT.ok;
    }
    try {
      await writeFile(resolve(io.cwd, values.out), text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      io.stderr(`turnstate: diagram: cannot write ${values.out} (${code})\n`);
      return EXIT.failed;
    }
    return EXIT.ok;
  },
};
