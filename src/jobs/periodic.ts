// The one way the hub runs work in the background on a timer: a periodic task. One run at a time
// (single flight); `wake()` asks for a run now, or for exactly one more right after the run in
// progress; `stop()` lets the run in progress finish and resolves when it has; a run that throws
// is logged and the task carries on at its next interval. A run may return how long to sleep
// before the next one (the revocation job sleeps until its next retry is due).
//
// Hand-written on purpose (about 60 lines): the libraries that schedule work in Node fit this less
// well than they cost. Cron schedulers (croner, node-cron) run on wall-clock patterns, not on a
// delay the last run chose, and their stop does not wait for a run in progress; set-interval-async
// awaits the run in progress when cleared but has no wake. The PostgreSQL job queues (pg-boss,
// graphile-worker, tried on the embedded database too) keep durable jobs in tables; these tasks
// keep their state in the data they work on (PENDING rows, cursors, chain heads) and need a timer.
import type { Logger } from '../hub/logger.ts';

export interface PeriodicTaskOptions {
  /** Names the task in log lines ("revocation", "audit anchoring"…). */
  name: string;
  logger: Logger;
  /** Sleep between the end of one run and the start of the next, unless the run returns another. */
  intervalMs: number;
  /** Sleep before the first run (default 0: at once). */
  firstRunAfterMs?: number;
  /**
   * One run. `signal` is aborted by stop(): a long run may check it to end early. Returns the sleep
   * before the next run in ms, or nothing for intervalMs.
   */
  run(signal: AbortSignal): Promise<number | void>;
}

export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private started = false;
  private readonly abort = new AbortController();

  constructor(private readonly options: PeriodicTaskOptions) {}

  /** Starts the timer (once; a stopped task stays stopped). */
  start() {
    if (this.started || this.abort.signal.aborted) return;
    this.started = true;
    this.schedule(this.options.firstRunAfterMs ?? 0);
  }

  /** Runs now, or once more right after the run in progress (however many wakes arrive meanwhile). */
  wake() {
    if (!this.started || this.abort.signal.aborted) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** No run starts after this; resolves when the run in progress (if any) has finished. */
  async stop() {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number) {
    if (this.abort.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    // unref: a pending run never keeps the process alive; stop() is how the hub ends them.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runOnce().then((sleepMs) => {
        // In one step with clearing `running`: a wake() seen during the run is never lost.
        this.running = null;
        this.schedule(this.again ? 0 : sleepMs);
      });
    }, delayMs).unref();
  }

  /** One run; never rejects. Resolves with the sleep before the next. */
  private async runOnce(): Promise<number> {
    const { name, logger, intervalMs, run } = this.options;
    this.again = false;
    try {
      return (await run(this.abort.signal)) ?? intervalMs;
    } catch (error) {
      logger.warn({ err: error, job: name }, `${name}: the run failed; trying again in ${intervalMs} ms`);
      return intervalMs;
    }
  }
}
