import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../train/src/cli/cli';

/**
 * The README's commands cannot go stale: every `npm run X` names a script of package.json, and every
 * `npx quorum CMD --flag` names a command whose --help documents each flag used. (The commands themselves run in
 * the CLI, edge and full-pipeline tests; this ties the README's spelling of them to the code.)
 */
const ROOT = join(__dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].map((m) => m[1]!);
// Inline code spans in the prose count too (`npm run edge:dev`, `npx quorum evaluate ...`).
const spans = [...readme.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
const lines = [...blocks, ...spans]
  .join('\n')
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.replace(/^#\s*/, '').trim());
const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;

describe('README commands', () => {
  it('names only npm scripts that exist', () => {
    const used = lines.flatMap((l) =>
      [...l.matchAll(/npm (?:run )?(start|test|run [\w:-]+)/g)].map((m) => m[1]!.replace(/^run /, '')),
    );
    expect(used.length).toBeGreaterThan(2);
    for (const s of used) expect(Object.keys(scripts), `npm ${s}`).toContain(s);
  });

  const quorum = lines.filter((l) => /npx quorum \w/.test(l));
  it('shows the quorum commands users need', () => {
    const commands = new Set(quorum.map((l) => /npx quorum (\w+)/.exec(l)![1]));
    for (const c of ['train', 'segment', 'evaluate', 'assemble', 'publish']) expect(commands).toContain(c);
  });

  it.each(quorum)('%s: the command exists and documents every flag it uses', async (line) => {
    const [, command, rest] = /npx quorum (\w+)(.*)/.exec(line)!;
    const help: string[] = [];
    expect(await main([command!, '--help'], (s) => help.push(s))).toBe(0);
    for (const flag of rest!.match(/--[a-z][a-z-]*/g) ?? [])
      expect(help.join('\n'), `${command} ${flag}`).toContain(flag);
  });
});
