import { spawnSync } from 'node:child_process';

/** Run `atomgp ARGS` from source in a child process; returns exit code, stdout and stderr. */
export function runCli(args: string[], env: Record<string, string> = {}, opts: { timeoutMs?: number } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
