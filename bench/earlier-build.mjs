// An earlier build of newsnap beside this one, for a benchmark that compares the two in one run:
// the commit checked out in a detached worktree under the OS's temp folder, this checkout's
// node_modules linked in (the lock files must agree: a build with other dependencies would measure
// them too), and compiled with this checkout's TypeScript. remove() takes the worktree away again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function earlierBuild(root, ref) {
  const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const changed = git('diff', '--name-only', commit, 'HEAD', '--', 'package-lock.json');
  if (changed) throw new Error(`--before-ref ${ref}: its package-lock.json differs from this checkout's; build it in a checkout of its own and pass --before <dir>`);
  const dir = join(mkdtempSync(join(os.tmpdir(), 'newsnap-before-')), 'project');
  git('worktree', 'add', '--detach', dir, commit);
  let removed = false;
  const onSignal = (signal) => process.exit(signal === 'SIGINT' ? 130 : 143);
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    for (const signal of ['SIGINT', 'SIGTERM']) process.off(signal, onSignal);
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      // Already gone: prune forgets it below.
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
      git('worktree', 'prune');
    }
  };
  // However the benchmark ends (a throw, Ctrl-C), the worktree does not stay registered.
  process.once('exit', remove);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, onSignal);
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  } catch (err) {
    remove();
    throw err;
  }
  return { commit, subject: git('log', '-1', '--format=%s', commit), cli: join(dir, 'dist/cli/main.js'), remove };
}
