/**
 * Terminal output: a progress bar redrawn in place on stderr when it is a terminal, and plain
 * lines on stdout (which is all there is in CI and log files).
 */
export class Reporter {
  private barShown = false;
  private lastDraw = 0;
  private lastText = '';

  constructor(
    readonly tty: boolean = !!process.stderr.isTTY,
    readonly quiet = false,
  ) {}

  get columns(): number {
    return process.stderr.columns || 100;
  }

  /** A line of output (clears and redraws the bar around it). */
  info(line: string): void {
    if (this.barShown) process.stderr.write('\r\x1b[2K');
    process.stdout.write(`${line}\n`);
    if (this.barShown) process.stderr.write(this.lastText);
  }

  /** A warning on stderr. */
  warn(line: string): void {
    if (this.barShown) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${line}\n`);
    if (this.barShown) process.stderr.write(this.lastText);
  }

  /** Redraw the bar (at most every 80 ms unless `force`); nothing when not a terminal. */
  bar(text: string, force = false): void {
    if (!this.tty || this.quiet) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 80) return;
    this.lastDraw = now;
    this.lastText = text.slice(0, this.columns - 1);
    process.stderr.write(`\r\x1b[2K${this.lastText}`);
    this.barShown = true;
  }

  /** Leave the bar's last state on its line and move on. */
  endBar(): void {
    if (this.barShown) process.stderr.write('\n');
    this.barShown = false;
  }
}
