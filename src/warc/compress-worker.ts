import { gzipSync } from 'node:zlib';
import { Piscina } from 'piscina';

/** A serialized WARC record and the zlib level of its gzip member. */
export interface CompressTask {
  raw: Uint8Array;
  level: number;
}

/** One record's gzip member, made on a worker thread and handed back without a copy. */
export default function compress(task: CompressTask): unknown {
  const member = gzipSync(task.raw, { level: task.level });
  return Piscina.move(member);
}
