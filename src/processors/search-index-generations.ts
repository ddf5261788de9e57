import type { BatchResult, Change, RebuildTarget } from '../types';
import { errorReason, type SearchClient } from './search-client';

export type IndexGenerations = RebuildTarget & {
  /** The index a generation is built in: `<alias>_v<generation>`. */
  indexOf(generation: number): string;
};

interface IndexDefinition {
  alias: string;
  mappings: Record<string, unknown>;
  settings: Record<string, unknown>;
  fingerprint: string;
  /** Why the index behind the alias does not have the configured mappings/settings, or null (read only). */
  liveProblem: () => Promise<string | null>;
  write: (changes: Change[], index: string) => Promise<BatchResult>;
}

/**
 * `searchIndex`'s generations for `pillowtop rebuild`: readers search the alias (`cases_search`);
 * generation N is built in the index `cases_search_vN` and swapped in by one `_aliases` call (remove
 * the old index, add the new: atomic in the cluster). The former index is kept behind the alias
 * `<alias>__old` until it is dropped after the grace period.
 */
export function indexGenerations(client: () => SearchClient, d: IndexDefinition): IndexGenerations {
  const indexOf = (generation: number) => `${d.alias}_v${generation}`;
  const aliasTargets = async (alias: string): Promise<string[]> => {
    const res = await client().request<Record<string, unknown>>('GET', `/_alias/${encodeURIComponent(alias)}`);
    if (res.status === 404) return [];
    if (res.status >= 300) throw new Error(`reading alias "${alias}" failed: ${errorReason(res.body)}`);
    return Object.keys(res.body ?? {});
  };
  const remove = async (index: string) => {
    const res = await client().request('DELETE', `/${encodeURIComponent(index)}`);
    if (res.status >= 300 && res.status !== 404)
      throw new Error(`deleting search index "${index}" failed: ${errorReason(res.body)}`);
  };
  return {
    target: d.alias,
    indexOf,
    needsRebuild: () => d.liveProblem(),
    async create(_db, generation) {
      await remove(indexOf(generation));
      const meta = { ...((d.mappings._meta as object) ?? {}), pillowtop: { fingerprint: d.fingerprint } };
      const res = await client().request('PUT', `/${encodeURIComponent(indexOf(generation))}`, {
        settings: d.settings,
        mappings: { ...d.mappings, _meta: meta },
      });
      if (res.status >= 300)
        throw new Error(`creating search index "${indexOf(generation)}" failed: ${errorReason(res.body)}`);
    },
    async write(changes, _db, generation) {
      const index = indexOf(generation);
      const result = await d.write(changes, index);
      // searches see the new generation at the swap: make what was written visible by then
      return result;
    },
    async swap(_db, _live, generation) {
      const next = indexOf(generation);
      const live = await aliasTargets(d.alias);
      if (live.length === 1 && live[0] === next) return; // an earlier attempt swapped it
      await client().request('POST', `/${encodeURIComponent(next)}/_refresh`);
      const actions = [
        ...live.map((index) => ({ remove: { index, alias: d.alias } })),
        ...live.map((index) => ({ add: { index, alias: `${d.alias}__old` } })),
        { add: { index: next, alias: d.alias } },
      ];
      const res = await client().request('POST', '/_aliases', { actions });
      if (res.status >= 300) throw new Error(`swapping alias "${d.alias}" failed: ${errorReason(res.body)}`);
    },
    async drop(_db, generation) {
      const live = new Set(await aliasTargets(d.alias));
      const retired = await aliasTargets(`${d.alias}__old`);
      for (const index of [indexOf(generation), ...retired]) if (!live.has(index)) await remove(index);
    },
  };
}
