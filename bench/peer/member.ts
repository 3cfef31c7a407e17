import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FileRef, parseManifest } from '@quorum/shared/manifest';

/** One member's files as the ensemble publishes them, read from disk and checked against the manifest. */
export interface MemberFiles {
  id: string;
  /** model.json text. */
  modelJson: string;
  /** Weight shards in model.json's order (the manifest lists them in that order after model.json). */
  shards: Uint8Array[];
  /** Every file with its path relative to the ensemble directory, for serving to the page under the same paths. */
  files: { path: string; body: Uint8Array }[];
}

async function readChecked(ensembleDir: string, ref: FileRef): Promise<Uint8Array> {
  const body = new Uint8Array(await readFile(join(ensembleDir, ref.path)));
  const sha = createHash('sha256').update(body).digest('hex');
  // A stale or half-copied member would make the comparison meaningless: both runtimes read these bytes.
  if (body.byteLength !== ref.bytes || sha !== ref.sha256) {
    throw new Error(`${ref.path}: size or SHA-256 differs from ensemble.json`);
  }
  return body;
}

export async function readMember(ensembleDir: string, memberIndex: number): Promise<MemberFiles> {
  const manifest = parseManifest(await readFile(join(ensembleDir, 'ensemble.json'), 'utf8'));
  const member = manifest.members[memberIndex];
  if (!member) {
    throw new Error(
      `member index ${memberIndex} out of range: ${ensembleDir} has ${manifest.members.length} members`,
    );
  }
  const files = await Promise.all(
    member.files.map(async (ref) => ({ path: ref.path, body: await readChecked(ensembleDir, ref) })),
  );
  const [model, ...shards] = files;
  return {
    id: member.id,
    modelJson: new TextDecoder().decode(model!.body),
    shards: shards.map((f) => f.body),
    files,
  };
}
