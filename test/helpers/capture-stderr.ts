/**
 * Collects what this process writes to stderr while `run` runs (the in-process worker's logs, the
 * workflows' logs among them), still writing it through. `run` gets the lines so far to wait on.
 */
export async function captureStderr(run: (logged: string[]) => Promise<void>): Promise<string[]> {
  const logged: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    logged.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    await run(logged);
  } finally {
    process.stderr.write = write;
  }
  return logged;
}
