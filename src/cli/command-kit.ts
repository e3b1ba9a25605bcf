import { Option, type Command } from 'commander';
import { ClockError } from '../clock/clock.js';
import { ConfigError } from '../config/index.js';
import { ProxyConfigError } from '../fetch/proxy.js';
import { LockedError } from '../storage/run-lock.js';
import { StateVersionError } from '../storage/state/state-schema.js';
import { StorageError } from '../disk/storage-error.js';
import { EXIT_CODES_HELP, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { UsageError } from './usage-error.js';

// Each command's module is loaded when it runs: a crawl does not carry the service's metrics, the
// worker pool of reextract or the diff library of history (RSS is a benchmark target).

export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration file (JSON); default: NEWSNAP_CONFIG, then ./config/newsnap.json')
    .option('--storage <dir>', 'folder for snapshots, manifest and state (default: storage/)')
    .option('--origin <url>', 'send requests here instead of the site, e.g. a local mirror http://127.0.0.1:8080; snapshots keep the site URLs')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addHelpText('after', EXIT_CODES_HELP);
}

/** Runs a command body, turning known errors into one-line messages and exit codes. */
export async function runCommand(body: () => Promise<ExitCodeValue>): Promise<void> {
  let code: ExitCodeValue;
  try {
    code = await body();
  } catch (err) {
    code = exitCodeFor(err);
    process.stderr.write(`newsnap: ${(err as Error).message}\n`);
  }
  process.exitCode = code;
}

function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof UsageError || err instanceof ConfigError || err instanceof ClockError || err instanceof ProxyConfigError || err instanceof StateVersionError) return ExitCode.USAGE;
  if (err instanceof LockedError) return ExitCode.LOCKED;
  if (err instanceof StorageError) return ExitCode.STORAGE;
  return ExitCode.FAILED;
}

