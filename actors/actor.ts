/**
 * The actor runtime: a typed, bounded FIFO mailbox drained in batches, one
 * message at a time, with supervision. Handlers are synchronous (run to
 * completion); I/O lives outside the actor and reports back with `tell`.
 *
 * @module
 */

/** What a supervisor decides when one of its actors throws. */
export type Directive = "resume" | "restart" | "stop";

/** Anything that decides the fate of a failed actor. */
export interface Supervisor {
  childFailed(child: Actor<never>, error: unknown): Directive;
}

/** The explicit result of offering a message to a mailbox. */
export type TellOutcome = "queued" | "overflow" | "stopped";

/** Why an actor stopped. */
export interface StopReason {
  reason: string;
  error?: unknown;
}

export interface ActorOptions {
  name: string;
  /** Messages the mailbox holds before `tell` reports overflow. */
  capacity?: number;
  /** Messages handled per drain before yielding to I/O. */
  batchSize?: number;
  supervisor?: Supervisor;
}

/** Mailbox bound when none is given: large enough for one 64 KiB read of tiny PUBs many times over. */
export const DEFAULT_MAILBOX_CAPACITY = 1 << 17;
/** Yield to the event loop after this many messages so sockets are never starved. */
export const DEFAULT_BATCH_SIZE = 4096;

/**
 * Base class of every actor. Subclasses implement `receive` for their message
 * union and may override the lifecycle hooks.
 *
 * @example
 * ```ts
 * type CounterMsg = { kind: "add"; n: number } | { kind: "reset" };
 * class Counter extends Actor<CounterMsg> {
 *   total = 0;
 *   protected receive(msg: CounterMsg) {
 *     if (msg.kind === "add") this.total += msg.n;
 *     else this.total = 0;
 *   }
 * }
 * const c = new Counter({ name: "counter" });
 * c.tell({ kind: "add", n: 2 });
 * ```
 */
export abstract class Actor<M extends { kind: string }> {
  readonly name: string;
  #queue: (M | undefined)[] = [];
  #head = 0;
  #capacity: number;
  #batchSize: number;
  #scheduled = false;
  #stopped = false;
  #supervisor?: Supervisor;
  #resolveStopped!: (r: StopReason) => void;
  /** Resolves once the actor has stopped, with the reason. */
  readonly stopped: Promise<StopReason>;
  /** Number of times this actor was restarted by its supervisor. */
  restarts = 0;

  constructor(options: ActorOptions) {
    this.name = options.name;
    this.#capacity = options.capacity ?? DEFAULT_MAILBOX_CAPACITY;
    this.#batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#supervisor = options.supervisor;
    this.stopped = new Promise((resolve) => this.#resolveStopped = resolve);
  }

  /** Handles one message. Throwing hands the actor to its supervisor. */
  protected abstract receive(message: M): void;

  /** Called after each drained batch; connection actors flush their output here. */
  protected afterBatch(): void {}

  /** Called when the mailbox is full. The message has not been queued. */
  protected onOverflow(_message: M): void {}

  /** Called when the supervisor restarts this actor; reset private state here. */
  protected onRestart(_error: unknown): void {}

  /** Called once when the actor stops. */
  protected onStop(_reason: StopReason): void {}

  get isStopped(): boolean {
    return this.#stopped;
  }

  /** Messages waiting in the mailbox. */
  get backlog(): number {
    return this.#queue.length - this.#head;
  }

  /** Offers a message; never blocks. */
  tell(message: M): TellOutcome {
    if (this.#stopped) return "stopped";
    if (this.#queue.length - this.#head >= this.#capacity) {
      this.onOverflow(message);
      return "overflow";
    }
    this.#queue.push(message);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#drain);
    }
    return "queued";
  }

  /** Stops the actor: pending messages are dropped, `onStop` runs once. */
  stop(reason: StopReason = { reason: "stopped" }): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#queue = [];
    this.#head = 0;
    try {
      this.onStop(reason);
    } finally {
      this.#resolveStopped(reason);
    }
  }

  #drain = (): void => {
    this.#scheduled = false;
    const queue = this.#queue;
    let handled = 0;
    while (this.#head < queue.length && handled < this.#batchSize && !this.#stopped) {
      const message = queue[this.#head]!;
      queue[this.#head++] = undefined;
      handled++;
      try {
        this.receive(message);
      } catch (error) {
        this.#failed(error);
      }
    }
    if (this.#stopped) return;
    if (this.#head >= queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else {
      if (this.#head > 1024 && this.#head * 2 > queue.length) {
        this.#queue = queue.slice(this.#head);
        this.#head = 0;
      }
      // More work than one batch: continue after the event loop has had a turn.
      this.#scheduled = true;
      setTimeout(this.#drain, 0);
    }
    try {
      this.afterBatch();
    } catch (error) {
      this.#failed(error);
    }
  };

  #failed(error: unknown): void {
    const directive = this.#supervisor?.childFailed(this as unknown as Actor<never>, error) ??
      "stop";
    if (directive === "resume") return;
    if (directive === "restart") {
      this.restarts++;
      this.onRestart(error);
      return;
    }
    this.stop({ reason: "crashed", error });
  }
}
