/**
 * Every child process the benchmark starts, so that none outlives it: `run.ts` kills them all
 * in a `finally` and on SIGINT.
 *
 * @module
 */

const children = new Set<Deno.ChildProcess>();

/** Remembers `child` until it exits. */
export function trackChild(child: Deno.ChildProcess): Deno.ChildProcess {
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

/** Sends `signal` to every child still running. */
export function killAllChildren(signal: Deno.Signal = "SIGKILL"): void {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      // It exited between the status update and now.
    }
  }
}

/** Kills `child` with SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stopChild(child: Deno.ChildProcess, graceMs = 2_000): Promise<void> {
  let exited = false;
  const status = child.status.then(() => {
    exited = true;
  });
  try {
    child.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([status, grace]);
  clearTimeout(timer);
  if (!exited) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited just now.
    }
    await status;
  }
}
