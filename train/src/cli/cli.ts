import { isQuorumInputError } from '@quorum/shared';
import { BackendUnavailableError } from '../backend';
import { PublishError } from '../publish';
import { ASSEMBLE_HELP, assembleCommand } from './cmd-assemble';
import { EVALUATE_HELP, evaluateCommand } from './cmd-evaluate';
import { PUBLISH_HELP, publishCommand } from './cmd-publish';
import { SEGMENT_HELP, segmentCommand } from './cmd-segment';
import { TRAIN_HELP, trainCommand } from './cmd-train';

const HELP = `quorum: deep-ensemble segmentation of microscopy images (Kaminski et al., MIDL 2021)

Commands:
  quorum train      train the mode-fold ensemble and export it
  quorum evaluate   score an ensemble (and baselines) on labelled images, write the report
  quorum segment    segment images with an exported ensemble
  quorum assemble   merge separately trained members into one ensemble
  quorum publish    publish an ensemble to the edge, list versions, roll back

Run quorum <command> --help for its options.
`;

type Command = (argv: string[], log: (s: string) => void) => Promise<void>;
const COMMANDS: Record<string, { run: Command; help: string }> = {
  train: { run: trainCommand, help: TRAIN_HELP },
  evaluate: { run: evaluateCommand, help: EVALUATE_HELP },
  publish: { run: publishCommand, help: PUBLISH_HELP },
  segment: { run: segmentCommand, help: SEGMENT_HELP },
  assemble: { run: assembleCommand, help: ASSEMBLE_HELP },
};

/** Runs the CLI and returns the exit code: 0 ok, 2 bad input (one line naming what), 1 an internal error. */
export async function main(
  argv: string[],
  log: (s: string) => void = (s) => process.stdout.write(`${s}\n`),
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    log(HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(
      `quorum: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})\n`,
    );
    return 2;
  }
  try {
    await command.run(rest, log);
    return 0;
  } catch (e) {
    if (isQuorumInputError(e) || e instanceof BackendUnavailableError || e instanceof PublishError) {
      process.stderr.write(`quorum ${name}: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`quorum ${name}: internal error: ${(e as Error).message}\n`);
    if (process.env['QUORUM_DEBUG']) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
