// The address a `newsnap mirror --port 0` child listens on, read from its first line of output;
// rejects, with what it wrote (and `stderr()`), if it exits first. Shared by the benchmarks.
export function mirrorOrigin(child, stderr = () => '') {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`mirror exited ${code}: ${buf}${stderr()}`)));
  });
}
