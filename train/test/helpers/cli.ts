import { expect } from 'vitest';
import { main } from '../../src/cli/cli';

/** Runs the CLI in-process; its log lines and exit code. */
export async function run(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(args, (s) => out.push(s));
  return { code, out };
}

/** Runs the CLI in-process with stderr captured: the log, what went to stderr, and the exit code. */
export async function runCapturingStderr(
  args: string[],
): Promise<{ code: number; out: string[]; stderr: string }> {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => {
    errors.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    const { code, out } = await run(args);
    return { code, out, stderr: errors.join('') };
  } finally {
    process.stderr.write = write;
  }
}

/** The CLI's contract for bad input: exit 2 and one line on stderr naming the problem. */
export async function expectCliError(args: string[], message: RegExp): Promise<void> {
  const { code, stderr } = await runCapturingStderr(args);
  expect(stderr).toMatch(message);
  expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
  expect(code).toBe(2);
}
