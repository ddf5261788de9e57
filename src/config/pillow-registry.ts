import { resolvePillow, type PillowDefinition, type ResolvedPillow } from './pillow-definition';

/** Thrown when a pillow name is not in the config; names the known pillows. */
export class UnknownPillowError extends Error {
  constructor(
    readonly pillow: string,
    readonly known: string[],
  ) {
    super(`unknown pillow "${pillow}"; known pillows: ${known.length ? known.join(', ') : '(none configured)'}`);
    this.name = 'UnknownPillowError';
  }
}

export interface PillowRegistry {
  names(): string[];
  get(name: string): ResolvedPillow;
}

export function createRegistry(defs: PillowDefinition[], env: NodeJS.ProcessEnv = process.env): PillowRegistry {
  const byName = new Map(defs.map((d) => [d.name, resolvePillow(d, env)]));
  return {
    names: () => [...byName.keys()],
    get(name) {
      const found = byName.get(name);
      if (!found) throw new UnknownPillowError(name, [...byName.keys()]);
      return found;
    },
  };
}
