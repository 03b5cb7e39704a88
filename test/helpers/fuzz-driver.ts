// Runs many CLI invocations in one process for the fuzz test (test/cli/fuzz.test.ts): reads a JSON
// list of argument lists from argv[2], runs each through `main` with stdout and stderr captured,
// and writes [{ code, out, err, thrown }] as JSON to argv[3]. Stdout is captured here because in
// the test process it belongs to the test runner.
import { readFileSync, writeFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';

const cases = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as string[][];
const results: Array<{ code: number; out: string; err: string; thrown?: string }> = [];
const w1 = process.stdout.write.bind(process.stdout);
const w2 = process.stderr.write.bind(process.stderr);
for (const args of cases) {
  const out: string[] = [];
  const err: string[] = [];
  process.stdout.write = ((s: string | Uint8Array) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    results.push({ code, out: out.join('').slice(0, 20000), err: err.join('').slice(0, 20000) });
  } catch (e) {
    results.push({ code: -1, out: out.join('').slice(0, 20000), err: err.join('').slice(0, 20000), thrown: (e as Error)?.stack ?? String(e) });
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}
writeFileSync(process.argv[3]!, JSON.stringify(results));
