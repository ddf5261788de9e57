import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, validateConfig } from './validate-config';
import type { PillowDefinition } from './pillow-definition';

/**
 * The config file: `PILLOWTOP_CONFIG`, else `pillowtop.config.ts` in the project root — or, when
 * this code runs compiled (dist/, the production image), the `pillowtop.config.js` compiled beside it.
 */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PILLOWTOP_CONFIG) return path.resolve(env.PILLOWTOP_CONFIG);
  return path.resolve(__dirname, '..', '..', `pillowtop.config${path.extname(__filename)}`);
}

/** Loads and validates the config; a missing file or a mistake in it is a ConfigError with a clear line. */
export function loadConfig(file: string = configPath()): PillowDefinition[] {
  if (!existsSync(file)) throw new ConfigError([`config file not found: ${file} (set PILLOWTOP_CONFIG)`]);
  if (file.endsWith('.ts') && !require.extensions['.ts'])
    throw new ConfigError([
      `${file} is TypeScript, which this compiled pillowtop cannot load: compile it with the project (npm run build) or write it in JavaScript`,
    ]);
  let mod: unknown;
  try {
    // under tsx (development) a .ts config loads like any module; compiled, a .js one does
    mod = require(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`${file}: ${(err as Error).message.split('\n')[0]}`]);
  }
  const exported = (mod as { default?: unknown }).default ?? mod;
  return validateConfig(exported);
}
