import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, validateConfig } from './validate-config';
import type { PillowDefinition } from './pillow-definition';

/** The config file: `PILLOWTOP_CONFIG`, else `pillowtop.config.ts` in the project root. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PILLOWTOP_CONFIG) return path.resolve(env.PILLOWTOP_CONFIG);
  return path.resolve(__dirname, '..', '..', 'pillowtop.config.ts');
}

/** Loads and validates the config; a missing file or a mistake in it is a ConfigError with a clear line. */
export function loadConfig(file: string = configPath()): PillowDefinition[] {
  if (!existsSync(file)) throw new ConfigError([`config file not found: ${file} (set PILLOWTOP_CONFIG)`]);
  let mod: unknown;
  try {
    // runs under tsx, so a .ts config loads like any module
    mod = require(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`${file}: ${(err as Error).message.split('\n')[0]}`]);
  }
  const exported = (mod as { default?: unknown }).default ?? mod;
  return validateConfig(exported);
}
