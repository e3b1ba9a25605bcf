/** The messages between a ChildPool and its children (structured clone over the IPC channel). */

export interface TaskError {
  name: string;
  message: string;
  /** The error's own enumerable fields (a QueryError's position…). */
  details: Record<string, unknown>;
}

export type ParentMessage = { type: 'task'; id: number; task: unknown; /** The parent kills it at this time (epoch ms); the child kills itself a little later, should the parent be gone. */ deadline: number | null } | { type: 'ack'; id: number };

export type ChildMessage =
  | { type: 'done'; id: number; result: unknown }
  | { type: 'error'; id: number; error: TaskError }
  | { type: 'chunk'; id: number; chunk: Uint8Array };

/** What a task writes its streamed output to: each write resolves once the parent has taken it. */
export interface TaskOutput {
  write(chunk: Uint8Array | string): Promise<void>;
}

/** A child's task handler: the default export of the module a ChildPool runs. */
export type TaskHandler<Task = unknown, Result = unknown> = (task: Task, output: TaskOutput, data: unknown) => Result | Promise<Result>;
