/** The reader took no bytes for the deadline: the writer gives up on it. */
export class OutputStalled extends Error {
  override readonly name = 'OutputStalled';
  constructor(readonly ms: number) {
    super(`the reader took no bytes for ${ms} ms`);
  }
}

/**
 * Resolves once `sink` has room again (drain) or is gone (close: its owner sees why); rejects
 * with the sink's error, so a write waiting on a file that failed (ENOSPC) fails instead of
 * waiting forever; and, given `deadlineMs`, with OutputStalled when no room came in that time.
 */
export function roomIn(sink: NodeJS.WritableStream, deadlineMs?: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (err?: Error) => {
      if (timer) clearTimeout(timer);
      sink.off('drain', ok);
      sink.off('close', ok);
      sink.off('error', failed);
      if (err) reject(err);
      else resolve();
    };
    const ok = () => settle();
    const failed = (err: Error) => settle(err);
    sink.once('drain', ok);
    sink.once('close', ok);
    sink.once('error', failed);
    if (deadlineMs !== undefined) timer = setTimeout(() => settle(new OutputStalled(deadlineMs)), deadlineMs);
  });
}

/** Writes a chunk; resolves at once while the sink has room, else as roomIn() does. */
export function writeWithRoom(sink: NodeJS.WritableStream, chunk: string | Uint8Array, deadlineMs?: number): Promise<void> {
  return sink.write(chunk) ? Promise.resolve() : roomIn(sink, deadlineMs);
}
