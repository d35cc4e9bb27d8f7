/**
 * A progress bar on stderr for large blob transfers; drawn only when stderr is a terminal, so logs, pipes and
 * JSON output never see it.
 */
const MIN_BYTES = 4 << 20;

const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;

export class Progress {
  private done = 0;
  private last = 0;
  private readonly on: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.on = !!stream.isTTY && total >= MIN_BYTES && process.env['SIGNET_NO_PROGRESS'] === undefined;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  add(n: number): void {
    this.done += n;
    if (!this.on) return;
    const now = Date.now();
    if (now - this.last < 100 && this.done < this.total) return;
    this.last = now;
    const frac = Math.min(1, this.total ? this.done / this.total : 1);
    const width = 30;
    const fill = Math.round(frac * width);
    this.stream.write(`\r${this.label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(Math.round(frac * 100)).padStart(3)}% ${mib(this.done)}/${mib(this.total)}`);
  }

  finish(): void {
    if (this.on) this.stream.write('\n');
  }
}
