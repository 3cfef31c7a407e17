/** One step of a publish, reported as it happens. `unit` is 'files' unless said otherwise. */
export interface PublishProgress {
  phase: 'verify' | 'check' | 'upload' | 'manifest' | 'promote' | 'done';
  done: number;
  total: number;
  unit?: 'files' | 'bytes';
  /** The file or `name@version` the event is about. */
  detail?: string;
}

const LABEL: Record<PublishProgress['phase'], string> = {
  verify: 'verifying local files',
  check: 'checking edge',
  upload: 'uploading',
  manifest: 'manifest',
  promote: 'promoting',
  done: 'published',
};

export interface ReporterStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ReporterOptions {
  /** Force bar (true) or plain-line (false) output; default: the stream's isTTY. */
  tty?: boolean;
  /** Minimum ms between redraws of the bar (default 80). */
  throttleMs?: number;
  now?: () => number;
}

/**
 * A progress reporter for publishEnsemble's onProgress. On a terminal it redraws one bar line in place; in a log
 * (CI, a pipe) it prints a plain line per phase and per uploaded file, with no control characters, so logs stay
 * readable and grep-able.
 */
export function createProgressReporter(
  stream: ReporterStream = process.stderr,
  options: ReporterOptions = {},
): (event: PublishProgress) => void {
  const tty = options.tty ?? Boolean(stream.isTTY);
  const throttle = options.throttleMs ?? 80;
  const now = options.now ?? Date.now;
  let phase: PublishProgress['phase'] | undefined;
  let lastDraw = 0;
  let barShown = false;

  const plain = (e: PublishProgress) => {
    const started = e.phase !== phase;
    phase = e.phase;
    if (e.phase === 'done') {
      stream.write(`${LABEL.done} ${e.detail ?? ''}\n`);
    } else if (e.phase === 'upload' && e.detail) {
      stream.write(`uploaded ${e.detail} (${amount(e.done, e)} of ${amount(e.total, e)})\n`);
    } else if (started && e.done === 0) {
      const what =
        e.phase === 'upload' && e.total === 0
          ? ': nothing to upload'
          : e.phase === 'manifest' || e.phase === 'promote'
            ? ''
            : ` ${count(e)}`;
      stream.write(`${LABEL[e.phase]}${e.detail ? ` ${e.detail}` : ''}${what}\n`);
    }
  };

  const bar = (e: PublishProgress) => {
    const changed = e.phase !== phase;
    const finished = e.done >= e.total;
    if (!changed && !finished && now() - lastDraw < throttle) return;
    if (changed && barShown) stream.write('\n');
    phase = e.phase;
    lastDraw = now();
    if (e.phase === 'done') {
      if (barShown) stream.write('\r\x1b[2K');
      stream.write(`${LABEL.done} ${e.detail ?? ''}\n`);
      barShown = false;
      return;
    }
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
    const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 1;
    const filled = Math.round(frac * width);
    const pct = `${Math.floor(frac * 100)}`.padStart(3);
    const line = `${LABEL[e.phase].padEnd(21)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}% ${count(e)}`;
    stream.write(`\r\x1b[2K${line}`);
    barShown = true;
  };

  return tty ? bar : plain;
}

function count(e: PublishProgress): string {
  return e.unit === 'bytes' ? `${amount(e.done, e)}/${amount(e.total, e)}` : `${e.done}/${e.total}`;
}

function amount(n: number, e: PublishProgress): string {
  return e.unit === 'bytes' ? formatBytes(n) : String(n);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
