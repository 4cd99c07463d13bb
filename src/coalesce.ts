/**
 * Runs a task at most once at a time, with at most one run waiting behind it: a request made
 * while a run is in progress joins the waiting run, which starts after the current one ends and
 * so sees everything the request meant it to see. A flood of requests costs two runs. The task
 * never rejects to its callers: `onError` turns a failure into the result, and the next request
 * runs as usual.
 */
export class Coalescer<T> {
  private running?: Promise<T>;
  private queued?: Promise<T>;

  constructor(
    private readonly task: () => Promise<T>,
    private readonly onError: (err: unknown) => T,
  ) {}

  run(): Promise<T> {
    if (this.queued !== undefined) return this.queued;
    if (this.running === undefined) return this.launch();
    const queued = this.running.then(() => {
      this.queued = undefined;
      return this.launch();
    });
    this.queued = queued;
    return queued;
  }

  /** Resolves once the run in progress and the one waiting (if any) have ended. */
  async idle(): Promise<void> {
    await (this.queued ?? this.running);
  }

  private launch(): Promise<T> {
    // The async wrapper turns a synchronous throw into a rejection, handled like any other.
    const run: Promise<T> = (async () => this.task())()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        if (this.running === run) this.running = undefined;
      });
    this.running = run;
    return run;
  }
}
