/**
 * Two (or more) threads for one model-set call: the SIMD kernel calls of a molecule's atomic GPs
 * are shared between this thread and the linear-algebra team's worker (math/linalg-team.ts), on
 * one shared wasm memory holding every model's kernel data (laid out once, at construction).
 *
 * Each model's training set is split in two halves (two kernel calls, "units", with their own
 * accumulators), handed out in order (dynamic scheduling, so one large model also uses both
 * threads). Two ways to drive a call:
 * - `begin` every model, `run`, `finish` every model: the host side (ALF features, the query
 *   set-up, the chain rule) stays serial around the kernel calls;
 * - `pipeline(host)`: the team is woken first, and `host` runs on this thread inside the team's
 *   job: it computes each atom's features and `begin`s it (which publishes the query), then
 *   `await`s each atom in order — claiming kernel calls itself while its results are not in —
 *   and `finish`es it. The worker runs each unit as soon as its model's query is published, so
 *   the wake-up, the features and the chain rule overlap the other thread's kernel calls.
 * Publication and completion are per-call generation numbers in shared Int32 flags (Atomics), so
 * nothing is reset between calls. Every kernel call is the same function of the same inputs
 * whichever thread runs it, and the host sums in atom order, so results are bit-identical to one
 * thread. Nothing is allocated per call.
 *
 * Used by potentials/gp.ts for a single molecule (an MD run or an optimisation) on the main
 * thread; inside worker threads (ensemble replicas, the trainer's jobs) `defaultThreads()` is 1,
 * so the replicas keep the cores.
 */
import { type Crew, registerJob, type LinalgTeam } from '../../math/linalg-team.js';
import { allocateMatrices, kernelFor } from '../../math/linalg-wasm.js';
import { type KernelPredict, kernelOnSharedMemory } from '../../math/wasm/predict-kernel.js';
import type { AtomGp, WasmPlan } from './predictor.js';

/** Team job number of the kernel calls (numbers below 16 belong to math/, 16-19 to the trainer). */
export const JOB_PREDICT = 24;

// Descriptor of one kernel call (a model's half of its training set), in doubles: the kernel's
// arguments, then per-call state. Two per model.
const STRIDE = 16;
const D_S0 = 9;
const D_GRAD = 10;
const D_ACTIVE = 11;
const D_RESULT = 12;

interface Bound {
  predict: KernelPredict;
  kind: 'native' | 'wasm';
  table: Float64Array;
  /** ready[m] (query of model m published), done[u] (unit u computed), then the abort word. */
  flags: Int32Array;
  units: number;
}
/** Per thread: the kernel bound to each shared memory, and the descriptor table's views. */
const bound = new WeakMap<ArrayBufferLike, Bound>();

/** Int32 flags after a table of n models: ready (n, from 0), done (2n), abort (1), each group on its own 64-byte lines. */
const doneAt = (n: number) => 16 * Math.ceil(n / 16);
const abortAt = (n: number) => doneAt(n) + 16 * Math.ceil((2 * n) / 16);
const flagInts = (n: number) => abortAt(n) + 16;

function bind(buffer: ArrayBufferLike, tableByteOffset: number, nModels: number, kind: 'native' | 'wasm'): Bound {
  let b = bound.get(buffer);
  if (!b || b.table.byteOffset !== tableByteOffset || b.units !== 2 * nModels || b.kind !== kind) {
    const memory = kernelFor(new Float64Array(buffer, 0, 0))?.memory;
    // The kernel the team's owner chose (its settings may have been set in code, which a worker
    // does not see): every thread must run the same one for bit-identical results.
    const predict = memory ? kernelOnSharedMemory(memory, kind)?.predict : null;
    if (!predict) throw new Error(`predict team: no ${kind} kernel for the shared memory`);
    const table = new Float64Array(buffer, tableByteOffset, nModels * 2 * STRIDE);
    const flags = new Int32Array(buffer, tableByteOffset + nModels * 2 * STRIDE * 8, flagInts(nModels));
    b = { predict, kind, table, flags, units: 2 * nModels };
    bound.set(buffer, b);
  }
  return b;
}

/** Thrown in a thread that sees the call aborted (the host threw); never escapes the job. */
class CallAborted extends Error {}

/** Runs unit u of call `gen` once its model's query is published; marks it done. */
function runUnit(b: Bound, u: number, gen: number): void {
  const f = b.flags;
  const n = b.units >> 1;
  const m = u >> 1;
  const abort = abortAt(n);
  while (Atomics.load(f, m) !== gen) {
    if (Atomics.load(f, abort) === gen) throw new CallAborted();
  }
  const t = b.table;
  const o = u * STRIDE;
  if (t[o + D_ACTIVE] !== 0) {
    t[o + D_RESULT] = b.predict(t[o]!, t[o + 1]!, t[o + 2]!, t[o + 3]!, t[o + 4]!, t[o + 5]!, t[o + 6]!, t[o + 7]!, t[o + 8]!, t[o + D_S0]!, t[o + D_GRAD]!);
  }
  Atomics.store(f, doneAt(n) + u, gen);
}

/** The leader's host side of the current `pipeline` call (null in workers and for `run`). */
let leaderHost: ((crew: Crew) => void) | null = null;

registerJob(
  JOB_PREDICT,
  (crew, params, buffer) => {
    if (crew.tid === 0 && leaderHost) {
      leaderHost(crew);
      return;
    }
    const b = bind(buffer, params[0]!, params[1]! / 2, params[2] === 1 ? 'native' : 'wasm');
    const gen = params[3]!;
    try {
      for (let u = crew.next(); u < b.units; u = crew.next()) runUnit(b, u, gen);
    } catch (e) {
      if (!(e instanceof CallAborted)) throw e;
    }
  },
  import.meta.url,
);

/** Kernel doubles per model, rounded up to whole 64-byte lines. */
const lineUp = (d: number) => 8 * Math.ceil(d / 8);

/**
 * The kernel data of a molecule's models in one shared memory, and the team that runs their calls.
 * `create` returns null when shared wasm memories are unavailable.
 */
export class PredictTeam {
  private readonly table: Float64Array;
  private readonly flags: Int32Array;
  private readonly plans: (WasmPlan | null)[];
  private readonly buffer: ArrayBufferLike;
  /** The kernel every thread of the team runs (chosen once, on this thread). */
  readonly kind: 'native' | 'wasm';
  /** Kernel calls per molecule: two halves per model. */
  private readonly units: number;
  private readonly nModels: number;
  /** Generation of the current call (flags equal to it are this call's); never 0. */
  private gen = 1;
  /** Whether this thread may still claim units in the current pipelined call. */
  private claiming = true;
  private crew: Crew | null = null;
  private readonly runHost: (crew: Crew) => void;
  private host: ((team: PredictTeam) => void) | null = null;

  private constructor(
    private readonly team: LinalgTeam,
    views: Float64Array[],
    models: readonly AtomGp[],
  ) {
    const n = models.length;
    this.nModels = n;
    this.table = views[n]!.subarray(0, 2 * n * STRIDE);
    this.flags = new Int32Array(this.table.buffer, this.table.byteOffset + 2 * n * STRIDE * 8, flagInts(n));
    this.units = 2 * n;
    this.buffer = this.table.buffer;
    const memory = kernelFor(this.table)!.memory;
    const kernel = kernelOnSharedMemory(memory);
    if (!kernel) throw new Error('predict team: no SIMD kernel for the shared memory');
    this.kind = kernel.kind;
    this.plans = models.map((gp, i) => {
      if (gp.kernelDoubles === 0) return null;
      const p = gp.moveKernelData({ mem: views[i]!, ...kernel });
      this.table.set([p.pY0, p.nBlocks0, p.endYBytes, p.endWBytes, p.pNorm0, p.pW0, p.pV, p.pC, p.pAcc0], 2 * i * STRIDE);
      this.table.set([p.pY1, p.nBlocks1, p.endYBytes, p.endWBytes, p.pNorm1, p.pW1, p.pV, p.pC, p.pAcc1], (2 * i + 1) * STRIDE);
      return p;
    });
    this.runHost = (crew: Crew) => {
      this.crew = crew;
      this.claiming = true;
      try {
        this.host!(this);
      } catch (e) {
        // Release the other threads, which may be waiting for a query that will not come.
        Atomics.store(this.flags, abortAt(n), this.gen);
        throw e;
      } finally {
        this.crew = null;
      }
    };
  }

  /** A team over the given models, or null without shared wasm memories. */
  static create(team: LinalgTeam, models: readonly AtomGp[]): PredictTeam | null {
    const lengths = models.map((gp) => lineUp(gp.kernelDoubles));
    lengths.push(2 * models.length * STRIDE + flagInts(models.length) / 2);
    const views = allocateMatrices(lengths, { shared: true });
    if (!kernelFor(views[0]!)?.shared) return null;
    return new PredictTeam(team, views, models);
  }

  /**
   * Starts model i's call at x (features) and publishes it to the team: true when the team will
   * run it (then read it with `finish`, after `run` or `await`), false when it must be predicted
   * directly (no kernel plan, or the query needs the general plan or the TypeScript pass).
   */
  begin(i: number, gp: AtomGp, x: Float64Array, withGrad: boolean): boolean {
    const o = 2 * i * STRIDE;
    const t = this.table;
    const p = this.plans[i] ? gp.beginKernelCall(x, withGrad) : null;
    if (!p) {
      t[o + D_ACTIVE] = t[o + STRIDE + D_ACTIVE] = 0;
    } else {
      t[o + D_S0] = t[o + STRIDE + D_S0] = p.s0;
      t[o + D_GRAD] = t[o + STRIDE + D_GRAD] = withGrad ? 1 : 0;
      t[o + D_ACTIVE] = t[o + STRIDE + D_ACTIVE] = 1;
    }
    Atomics.store(this.flags, i, this.gen);
    return p !== null;
  }

  /** Runs every started call (this thread and the team's workers); every model must have been begun. */
  run(): void {
    this.launch(null);
  }

  /**
   * One call with the host side inside the team's job: `host` (on this thread) must `begin` every
   * model, in any order, before it `await`s any, then `await` and `finish` each begun model. The
   * other threads run the kernel calls as the queries are published. If `host` throws, the call is
   * abandoned and the error rethrown.
   */
  pipeline(host: (team: PredictTeam) => void): void {
    this.launch(host);
  }

  /** In `pipeline`'s host: waits until model i's kernel calls are done, running unclaimed ones meanwhile. */
  await(i: number): void {
    const f = this.flags;
    const gen = this.gen;
    const d = doneAt(this.nModels) + 2 * i;
    const crew = this.crew!;
    while (Atomics.load(f, d) !== gen || Atomics.load(f, d + 1) !== gen) {
      if (!this.claiming) continue;
      const u = crew.next();
      if (u < this.units) runUnit(bind(this.buffer, this.table.byteOffset, this.nModels, this.kind), u, gen);
      else this.claiming = false;
    }
  }

  private launch(host: ((team: PredictTeam) => void) | null): void {
    const params = this.team.params;
    params[0] = this.table.byteOffset;
    params[1] = this.units;
    params[2] = this.kind === 'native' ? 1 : 0;
    params[3] = this.gen;
    this.host = host;
    leaderHost = host ? this.runHost : null;
    try {
      this.team.run(JOB_PREDICT, this.buffer);
    } finally {
      leaderHost = null;
      this.host = null;
      this.gen = this.gen === 0x7fffffff ? 1 : this.gen + 1;
    }
  }

  /** Model i's energy (and gradient into `grad`) after `run`, or after `await(i)`. */
  finish(i: number, gp: AtomGp, x: Float64Array, grad?: Float64Array): number {
    const o = 2 * i * STRIDE;
    return gp.finishKernelCall(x, this.table[o + D_RESULT]!, this.table[o + STRIDE + D_RESULT]!, grad);
  }

  /** Threads of the team. */
  get threads(): number {
    return this.team.threads;
  }

  /** Whether the workers are up (calls run on this thread alone until they are). */
  ready(): boolean {
    return this.team.ready();
  }

  /** Blocks until the workers run (tests, benchmarks). */
  waitReady(timeoutMs = 30000): boolean {
    return this.team.waitReady(timeoutMs);
  }
}

/** Calls timed per mode in each probe (four: see middleMean), and the length of a cycle (probe + use). */
const PROBE = 4;
const CYCLE = 64;
/** The team must beat one thread by this factor: it also takes a core from whatever else runs. */
const TEAM_MARGIN = 0.9;

/** Mean of the middle two of four numbers (robust to one stalled call each way). */
function middleMean(a: number, b: number, c: number, d: number): number {
  const lo = Math.min(a, b, c, d);
  const hi = Math.max(a, b, c, d);
  return 0.5 * (a + b + c + d - lo - hi);
}

/**
 * The automatic choice, call by call, between this thread alone and the team. On a machine whose
 * other core is busy, a barrier per call can cost more than the second thread gains, so both modes
 * are timed in turn (PROBE calls each, alternating) and the team serves the rest of the cycle of
 * CYCLE calls only if its typical call (mean of the middle two) took less than TEAM_MARGIN of one
 * thread's; then both are probed again. Results do not depend on the choice (the two modes are
 * bit-identical), only the speed does.
 */
export class ThreadChooser {
  private readonly wallMs = new Float64Array(2 * PROBE);
  private call = 0;
  private t0 = 0;
  private preferTeam = true;
  /** Calls made with the team and alone so far. */
  teamCalls = 0;
  soloCalls = 0;

  /** Whether the next call uses the team; `done()` must follow the call. */
  next(): boolean {
    const c = this.call % CYCLE;
    const team = c < 2 * PROBE ? (c & 1) === 1 : this.preferTeam;
    if (team) this.teamCalls++;
    else this.soloCalls++;
    this.t0 = performance.now();
    return team;
  }

  done(): void {
    const c = this.call % CYCLE;
    if (c < 2 * PROBE) {
      this.wallMs[c] = performance.now() - this.t0;
      if (c === 2 * PROBE - 1) {
        const t = this.wallMs;
        const solo = middleMean(t[0]!, t[2]!, t[4]!, t[6]!);
        const team = middleMean(t[1]!, t[3]!, t[5]!, t[7]!);
        this.preferTeam = team < TEAM_MARGIN * solo;
      }
    }
    this.call++;
  }
}
