/**
 * Starting a worker thread from a module that sits next to the caller, both when compiled (.js)
 * and when run from source under tsx (tests, development), where worker threads do not inherit
 * tsx's module hooks from --import and must register them themselves.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * `new Worker` for the module `name` (without extension) in the folder of `callerUrl` (pass the
 * caller's `import.meta.url`).
 */
export function startSiblingWorker(callerUrl: string, name: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
