import type { Logger } from './types';

/**
 * Structured logs: one JSON object per line on stderr, with pillow names, seqs and doc ids, never
 * doc bodies. `PILLOWTOP_LOG_LEVEL=warn` quiets info lines; `debug` adds debug lines (the per-batch
 * lines of `pillowtop dev`).
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

export function createLogger(base: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Logger {
  const min = LEVELS[(env.PILLOWTOP_LOG_LEVEL as keyof typeof LEVELS) ?? 'info'] ?? LEVELS.info;
  const write = (level: keyof typeof LEVELS) => (message: string, attrs?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    process.stderr.write(
      JSON.stringify({ ts: new Date().toISOString(), level, msg: message, ...base, ...attrs }) + '\n',
    );
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
