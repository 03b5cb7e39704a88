/**
 * A small team of threads for one dense linear-algebra job at a time: this thread plus
 * `threads − 1` worker threads (linalg-team-worker.ts), started once, lazily, and reused by every
 * caller. The GP trainer is synchronous, so a job is run like a parallel-for: this thread writes
 * the job's parameters into a shared control block, wakes the workers, does its own share and
 * waits for theirs (Atomics.wait/notify; Atomics.wait is allowed on Node's main thread).
 *
 * The matrices live in a shared wasm memory (linalg-wasm.ts `allocateMatrices(…, { shared: true })`),
 * handed to each worker once; every thread runs the same SIMD module on it with its own result
 * slot. Jobs are plain functions registered under a number by the modules that own the maths
 * (linalg.ts here; callers such as the GP likelihood register their own): `registerJob` is given
 * the registering module's URL, which every worker imports before it reports ready, so both
 * sides run identical code and the team knows nothing of what the jobs compute. Inside a job, threads share work
 * through `Crew`: `next()` hands out work units in order (dynamic scheduling, which also copes
 * with a machine whose other core is busy) and `sync()` is a barrier. Each matrix element is
 * computed by the same operations whichever thread does it, so results are bit-identical to one
 * thread — which is also what runs (the same job code with `SOLO`) when the team is not used.
 *
 * The worker never keeps the process alive (unref), reports exceptions back as an AtomgpError
 * (after releasing anyone waiting at a barrier), and one thread (backend.ts `defaultThreads`)
 * disables the team.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { AtomgpError } from '../errors.js';
import { startSiblingWorker } from '../util/worker.js';
import { defaultThreads, MAX_THREADS } from './backend.js';
import { kernelFor, type WasmMemory } from './linalg-wasm.js';

export { defaultThreads } from './backend.js';

/** What a job sees: its thread index, the team size, work sharing and a barrier. */
export interface Crew {
  readonly tid: number;
  readonly threads: number;
  /** Next unclaimed work unit of the current phase (0, 1, 2, …, unbounded; stop at your count). */
  next(): number;
  /** Barrier: returns when every thread has arrived; the unit counter restarts at 0. */
  sync(): void;
  /** A job result shared by all threads (e.g. a Cholesky info): set by one, read by all after sync. */
  setResult(v: number): void;
  result(): number;
}

/** One thread doing all the work: the single-thread path of every job. */
class SoloCrew implements Crew {
  readonly tid = 0;
  readonly threads = 1;
  private unit = 0;
  private value = 0;
  next(): number {
    return this.unit++;
  }
  sync(): void {
    this.unit = 0;
  }
  setResult(v: number): void {
    this.value = v;
  }
  result(): number {
    return this.value;
  }
  reset(): this {
    this.unit = 0;
    this.value = 0;
    return this;
  }
}

const solo = new SoloCrew();
/** A fresh single-thread crew (shared instance; jobs are not re-entrant). */
export function soloCrew(): Crew {
  return solo.reset();
}

/** Job body: reads its parameters from `params` (written by the caller) and views into `buffer`. */
export type TeamJob = (crew: Crew, params: Float64Array, buffer: ArrayBufferLike) => void;

const jobs = new Map<number, TeamJob>();
/** Module (URL) that registered each job; workers import these modules before they run. */
const jobModules = new Map<number, string>();

/**
 * Registers a job under a number, at module load (identically in every thread). `moduleUrl`
 * (the caller's `import.meta.url`) is imported by each worker of a team started afterwards, so
 * that the job exists there too; without it, only this thread knows the job. Numbers below 16
 * belong to math/ (linalg.ts); an id registered twice is an error.
 */
export function registerJob(id: number, job: TeamJob, moduleUrl?: string): void {
  if (id === JOB_RELEASE) throw new Error('linalg-team: job 0 is reserved');
  const have = jobs.get(id);
  if (have !== undefined && have !== job && jobModules.get(id) !== moduleUrl) throw new Error(`linalg-team: job ${id} is registered twice`);
  jobs.set(id, job);
  if (moduleUrl !== undefined) jobModules.set(id, moduleUrl);
}

/** Reserved job number: drop the memory. */
export const JOB_RELEASE = 0;

// Control block (Int32 indices) and the parameter area (Float64, after it).
const SEQ = 0; // command number, bumped by the leader
const DONE = 1; // workers finished with the current command
const JOB = 2;
const MEM_ID = 3; // id of the memory of the command
const MEM_NEW = 4; // 1: the memory was just posted to every worker's port
const BAR_COUNT = 5;
const BAR_GEN = 6;
const WORK = 7; // next work unit
const ABORT = 8;
const RESULT = 9;
const READY = 10; // workers whose loop is running
const EXIT = 11;
const CONTROL_INTS = 16;
export const PARAMS = 64;
const CONTROL_BYTES = CONTROL_INTS * 4 + PARAMS * 8;

/** Spins (cheap Atomics.load polls) before sleeping in Atomics.wait: barriers are short. */
const SPIN = 4000;

class Aborted extends Error {}

/** The crew of one thread of a team, over the shared control block. */
class SharedCrew implements Crew {
  constructor(
    readonly tid: number,
    readonly threads: number,
    private readonly ctl: Int32Array,
  ) {}
  next(): number {
    return Atomics.add(this.ctl, WORK, 1);
  }
  sync(): void {
    const ctl = this.ctl;
    const gen = Atomics.load(ctl, BAR_GEN);
    if (Atomics.add(ctl, BAR_COUNT, 1) + 1 === this.threads) {
      // Last to arrive: everyone else is waiting, so the counters can be reset safely.
      Atomics.store(ctl, BAR_COUNT, 0);
      Atomics.store(ctl, WORK, 0);
      Atomics.add(ctl, BAR_GEN, 1);
      Atomics.notify(ctl, BAR_GEN);
    } else {
      // An abort (which sets ABORT before bumping BAR_GEN) may have come before `gen` was read.
      for (let i = 0; i < SPIN && Atomics.load(ctl, BAR_GEN) === gen; i++);
      while (Atomics.load(ctl, BAR_GEN) === gen && Atomics.load(ctl, ABORT) === 0) Atomics.wait(ctl, BAR_GEN, gen);
    }
    if (Atomics.load(ctl, ABORT) !== 0) throw new Aborted('aborted');
  }
  setResult(v: number): void {
    Atomics.store(this.ctl, RESULT, v);
  }
  result(): number {
    return Atomics.load(this.ctl, RESULT);
  }
}

function waitWhile(ctl: Int32Array, index: number, value: number): void {
  for (let i = 0; i < SPIN; i++) if (Atomics.load(ctl, index) !== value) return;
  while (Atomics.load(ctl, index) === value) Atomics.wait(ctl, index, value);
}

/** Releases every thread waiting at a barrier (after an error) and marks the command failed. */
function abort(ctl: Int32Array): void {
  Atomics.store(ctl, ABORT, 1);
  Atomics.add(ctl, BAR_GEN, 1);
  Atomics.notify(ctl, BAR_GEN);
}

interface WorkerSlot {
  worker: Worker;
  port: MessagePort;
}

/** Message from a worker when its share of a job threw. */
interface WorkerFailure {
  message: string;
  userError: boolean;
}

/**
 * The leader's side of a team. `run` executes a registered job on all threads; before the
 * workers are up (they take a moment to start) it runs the job on this thread alone.
 */
export class LinalgTeam {
  readonly threads: number;
  /** Parameters of the next job (written by the caller, read by every thread). */
  readonly params: Float64Array;
  private readonly ctl: Int32Array;
  private readonly crew: SharedCrew;
  private readonly slots: WorkerSlot[] = [];
  private readonly memoryIds = new WeakMap<ArrayBufferLike, number>();
  private nextMemoryId = 1;
  /** Memory the workers currently hold (0: none). */
  private workerMemory = 0;
  private readonly finalizer = new FinalizationRegistry<number>((id) => {
    if (id === this.workerMemory && !this.closed) this.release();
  });
  private closed = false;
  private busy = false;
  /** Jobs whose modules the workers were told to import. */
  private readonly workerJobs = new Set<number>();
  /** Jobs run so far by the whole team, and by this thread alone (workers not ready, unshared memory). */
  teamJobs = 0;
  soloJobs = 0;

  constructor(threads: number) {
    if (!(Number.isInteger(threads) && threads >= 2 && threads <= MAX_THREADS)) {
      throw new AtomgpError(`linear-algebra team: threads must be an integer in 2…${MAX_THREADS}, got ${threads}`);
    }
    this.threads = threads;
    const sab = new SharedArrayBuffer(CONTROL_BYTES);
    this.ctl = new Int32Array(sab, 0, CONTROL_INTS);
    this.params = new Float64Array(sab, CONTROL_INTS * 4, PARAMS);
    this.crew = new SharedCrew(0, threads, this.ctl);
  }

  /** Starts the workers (asynchronously: `ready()` tells when they run). Idempotent. */
  start(startWorker: () => Worker): this {
    if (this.slots.length > 0 || this.closed) return this;
    const modules = [...new Set(jobModules.values())];
    for (const id of jobModules.keys()) this.workerJobs.add(id);
    for (let tid = 1; tid < this.threads; tid++) {
      const worker = startWorker();
      const { port1, port2 } = new MessageChannel();
      worker.postMessage({ control: this.ctl.buffer as SharedArrayBuffer, port: port2, tid, threads: this.threads, modules } satisfies TeamWorkerStart, [port2]);
      worker.unref();
      port1.unref();
      // A worker that dies outside a job (cannot start, out of memory) leaves the team unusable.
      worker.on('error', () => {
        this.closed = true;
      });
      worker.on('exit', () => {
        this.closed = true;
      });
      this.slots.push({ worker, port: port1 });
    }
    return this;
  }

  /** Whether the team was closed or lost a worker. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether every worker is running and the team can take a job. */
  ready(): boolean {
    return !this.closed && this.slots.length > 0 && Atomics.load(this.ctl, READY) === this.threads - 1;
  }

  /** Blocks (at most `timeoutMs`) until the workers run; returns `ready()`. For tests and benchmarks. */
  waitReady(timeoutMs = 30000): boolean {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = Atomics.load(this.ctl, READY);
      if (this.ready() || this.closed || this.slots.length === 0) return this.ready();
      const left = end - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctl, READY, r, Math.min(left, 50));
    }
  }

  /**
   * Runs job `id` with `params` (already written) on the matrices in `buffer` (a shared wasm
   * memory's buffer). Returns the job's result value. Runs on this thread alone when the workers
   * are not ready or the buffer is not a shared wasm memory.
   */
  run(id: number, buffer: ArrayBufferLike): number {
    const job = jobs.get(id);
    if (!job) throw new Error(`linalg-team: no job ${id}`);
    const memory = sharedMemoryOf(buffer);
    // A job whose module was registered after the workers started is unknown to them.
    const unknownToWorkers = jobModules.has(id) && !this.workerJobs.has(id);
    if (!memory || !this.ready() || this.busy || unknownToWorkers) {
      this.soloJobs++;
      const crew = soloCrew();
      job(crew, this.params, buffer);
      return crew.result();
    }
    const ctl = this.ctl;
    this.busy = true;
    this.teamJobs++;
    try {
      let memId = this.memoryIds.get(buffer);
      if (memId === undefined) {
        memId = this.nextMemoryId++;
        this.memoryIds.set(buffer, memId);
        this.finalizer.register(buffer, memId);
      }
      let posted = 0;
      if (memId !== this.workerMemory) {
        for (const s of this.slots) s.port.postMessage({ memory });
        this.workerMemory = memId;
        posted = 1;
      }
      Atomics.store(ctl, JOB, id);
      Atomics.store(ctl, MEM_ID, memId);
      Atomics.store(ctl, MEM_NEW, posted);
      this.launch();
      let mine: unknown;
      try {
        job(this.crew, this.params, buffer);
      } catch (e) {
        if (!(e instanceof Aborted)) {
          mine = e;
          abort(ctl);
        }
      }
      this.waitDone();
      if (mine !== undefined) throw mine;
      if (Atomics.load(ctl, ABORT) !== 0) {
        const failure = this.failure();
        if (failure.userError) throw new AtomgpError(failure.message);
        throw new Error(`linear-algebra worker failed: ${failure.message}`);
      }
      return Atomics.load(ctl, RESULT);
    } finally {
      this.busy = false;
    }
  }

  /** Stops the workers (they also stop by themselves at process exit). */
  close(): void {
    if (this.slots.length === 0) return;
    if (this.ready() && !this.busy) {
      Atomics.store(this.ctl, EXIT, 1);
      this.launch();
    }
    this.closed = true;
    for (const s of this.slots) {
      s.port.close();
      void s.worker.terminate();
    }
    this.slots.length = 0;
  }

  /** Tells the workers to drop the memory they hold (its owner was garbage-collected). */
  private release(): void {
    if (!this.ready() || this.busy) return;
    Atomics.store(this.ctl, JOB, JOB_RELEASE);
    Atomics.store(this.ctl, MEM_NEW, 0);
    this.workerMemory = 0;
    this.launch();
    this.waitDone();
  }

  private launch(): void {
    const ctl = this.ctl;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ABORT, 0);
    Atomics.store(ctl, RESULT, 0);
    Atomics.store(ctl, BAR_COUNT, 0);
    Atomics.store(ctl, WORK, 0);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
  }

  private waitDone(): void {
    const ctl = this.ctl;
    const want = this.threads - 1;
    for (;;) {
      const d = Atomics.load(ctl, DONE);
      if (d === want) return;
      waitWhile(ctl, DONE, d);
    }
  }

  /** The first failure reported by a worker; the ports are drained for the next job. */
  private failure(): WorkerFailure {
    let first: WorkerFailure | undefined;
    for (const s of this.slots) {
      for (let m = receiveMessageOnPort(s.port); m; m = receiveMessageOnPort(s.port)) first ??= m.message as WorkerFailure;
    }
    return first ?? { message: 'unknown error', userError: false };
  }
}

const memories = new WeakMap<ArrayBufferLike, WasmMemory>();

function sharedMemoryOf(buffer: ArrayBufferLike): WasmMemory | undefined {
  const known = memories.get(buffer);
  if (known) return known;
  if (typeof SharedArrayBuffer === 'undefined' || !(buffer instanceof SharedArrayBuffer)) return undefined;
  const k = kernelFor(new Float64Array(buffer, 0, 0));
  if (!k?.shared) return undefined;
  memories.set(buffer, k.memory);
  return k.memory;
}

let shared: LinalgTeam | undefined;
const startWorker = (): Worker => startSiblingWorker(import.meta.url, 'linalg-team-worker');

/**
 * The process-wide team of `threads` threads (default `defaultThreads()`), started on first use,
 * or undefined for one thread. A request for another size replaces the team.
 */
export function linalgTeam(threads = defaultThreads()): LinalgTeam | undefined {
  if (threads <= 1) return undefined;
  threads = Math.min(threads, MAX_THREADS);
  if (shared && (shared.threads !== threads || shared.isClosed)) {
    shared.close();
    shared = undefined;
  }
  if (!shared) {
    shared = new LinalgTeam(threads).start(startWorker);
    // Run from TypeScript sources (tests, development), a worker compiles its modules through tsx,
    // which may fork esbuild from the worker's loader thread. OpenBLAS shuts its thread pool down
    // in a pthread_atfork handler, so a fork while this thread is inside a threaded dpotrf leaves
    // the dpotrf spinning forever (or the fork joining a busy pool thread): seen with a cold tsx
    // cache on a CLI training test. Wait here until the worker has loaded, before any LAPACK
    // call. Compiled JavaScript (the installed CLI) loads its workers without forking.
    if (import.meta.url.endsWith('.ts')) shared.waitReady(60000);
  }
  return shared;
}

/** Stops the process-wide team (tests; the workers never keep the process alive anyway). */
export function closeLinalgTeam(): void {
  shared?.close();
  shared = undefined;
}

/** First message to a worker: the control block, its port and the modules that register jobs. */
export interface TeamWorkerStart {
  control: SharedArrayBuffer;
  port: MessagePort;
  tid: number;
  threads: number;
  modules: string[];
}

/**
 * The worker side (called by linalg-team-worker.ts after importing the modules that register
 * jobs): waits for the control block, then runs commands until told to exit.
 */
export function runTeamWorker(
  first: TeamWorkerStart,
  attach: (memory: WasmMemory, slot: number) => ArrayBufferLike,
): void {
  const { port, tid, threads } = first;
  const ctl = new Int32Array(first.control, 0, CONTROL_INTS);
  const params = new Float64Array(first.control, CONTROL_INTS * 4, PARAMS);
  const crew = new SharedCrew(tid, threads, ctl);
  let buffer: ArrayBufferLike | undefined;
  let seen = Atomics.load(ctl, SEQ);
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  for (;;) {
    waitWhile(ctl, SEQ, seen);
    seen = Atomics.load(ctl, SEQ);
    if (Atomics.load(ctl, EXIT) !== 0) break;
    try {
      if (Atomics.load(ctl, MEM_NEW) !== 0) {
        const m = receiveMessageOnPort(port);
        if (!m) throw new Error('linalg-team: memory message missing');
        buffer = attach((m.message as { memory: WasmMemory }).memory, tid);
      }
      const id = Atomics.load(ctl, JOB);
      if (id === JOB_RELEASE) {
        buffer = undefined;
      } else {
        const job = jobs.get(id);
        if (!job) throw new Error(`linalg-team: no job ${id} in the worker`);
        if (!buffer) throw new Error('linalg-team: no memory');
        job(crew, params, buffer);
      }
    } catch (e) {
      if (!(e instanceof Aborted)) {
        port.postMessage({ message: (e as Error).message, userError: e instanceof AtomgpError } satisfies WorkerFailure);
        abort(ctl);
      }
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
  port.close();
}
