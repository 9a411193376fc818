/**
 * Which recording answers a request: by params hash (recordings with the same
 * hash in their recorded order, the last one repeating once all were served)
 * or simply in order. With no match, the closest recording and what differs,
 * as paths (microdiff: a small, dependency-free deep diff that names each
 * changed path, which is what a person needs to see).
 */
import diff from 'microdiff';
import { normaliseParams, paramsHash, type Cassette, type NormaliseOptions } from './cassette.js';

export type MatchMode = 'params' | 'order';

export interface MatchOptions extends NormaliseOptions {
  /** `params` (default): by normalised params hash. `order`: the Nth request gets the Nth recording. */
  readonly match?: MatchMode;
}

export type Pick = { readonly cassette: Cassette; readonly exact: true } | { readonly cassette: Cassette | null; readonly exact: false; readonly why: string };

const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

export class Matcher {
  private readonly byHash = new Map<string, Cassette[]>();
  private readonly served = new Map<string, number>();
  private next = 0;
  /** Recorded hashes are used as they are unless the key is made differently now (then they are re-made from the stored params). */
  private readonly rehash: boolean;

  constructor(private readonly cassettes: readonly Cassette[], private readonly options: MatchOptions = {}) {
    this.rehash = options.fields !== undefined || options.ignore !== undefined;
    for (const c of cassettes) {
      const key = `${c.meta.request.path} ${this.rehash ? paramsHash(c.meta.request.params, options) : c.meta.request.paramsHash}`;
      this.byHash.set(key, [...(this.byHash.get(key) ?? []), c]);
    }
  }

  pick(path: string, params: unknown): Pick {
    if (this.options.match === 'order') {
      const cassette = this.cassettes[this.next];
      if (cassette === undefined) return { cassette: null, exact: false, why: `all ${this.cassettes.length} recordings were served (match: order)` };
      this.next += 1;
      return { cassette, exact: true };
    }
    const hash = paramsHash(params, this.options);
    const key = `${path} ${hash}`;
    const candidates = this.byHash.get(key);
    if (candidates) {
      const n = this.served.get(key) ?? 0;
      this.served.set(key, n + 1);
      return { cassette: candidates[Math.min(n, candidates.length - 1)]!, exact: true };
    }
    return { exact: false, ...this.closest(path, params, hash) };
  }

  private closest(path: string, params: unknown, hash: string): { cassette: Cassette | null; why: string } {
    if (this.cassettes.length === 0) return { cassette: null, why: 'the cassette has no recordings' };
    const wanted = normaliseParams(params, this.options);
    let best: { cassette: Cassette; changes: ReturnType<typeof diff> } | null = null;
    for (const c of this.cassettes) {
      const changes = diff(normaliseParams(c.meta.request.params, this.options), wanted);
      if (c.meta.request.path !== path) changes.unshift({ type: 'CHANGE', path: ['(path)'], oldValue: c.meta.request.path, value: path });
      if (best === null || changes.length < best.changes.length) best = { cassette: c, changes };
    }
    const { cassette, changes } = best!;
    const lines = changes.slice(0, 6).map((d) => {
      const at = d.path.join('.');
      if (d.type === 'CREATE') return `${at}: not in the recording, requested ${show(d.value)}`;
      if (d.type === 'REMOVE') return `${at}: recorded ${show(d.oldValue)}, missing from the request`;
      return `${at}: recorded ${show(d.oldValue)}, requested ${show(d.value)}`;
    });
    const more = changes.length > lines.length ? `; and ${changes.length - lines.length} more` : '';
    const what = changes.length === 0 ? 'the params are equal but the hash differs (recorded with other match options?)' : `${lines.join('; ')}${more}`;
    return { cassette, why: `no recording matches this request (${hash}); the closest is ${cassette.meta.response.body}: ${what}` };
  }
}
