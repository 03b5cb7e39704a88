/**
 * Crash-safe file output. `writeFileAtomic` replaces a file in one step (temporary file in the same
 * directory, fsync, rename), so readers never see half a model or a truncated geometry, even if
 * the process dies mid-write. `AppendWriter` is for append-only logs and trajectories written
 * while a simulation runs: buffered, with `flush()` forcing the data to disk.
 * Both are synchronous: they sit at the edges of long runs, where simplicity beats overlap.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AtomgpError } from '../errors.js';

function ioError(action: string, path: string, e: unknown): AtomgpError {
  const err = e as NodeJS.ErrnoException;
  const why = err?.code ? `${err.code}: ${err.message}` : String(e);
  return new AtomgpError(`cannot ${action} ${path} (${why})`);
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/** fsync a directory so a rename in it is durable; not every platform allows it, so best effort. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse to open or sync directories.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Write `data` to `path` atomically: the file either keeps its old content or has all of the new
 * content. The temporary file lives next to the target (same file system, so rename is atomic).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    writeAll(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; report the original error
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file may not exist
    }
    throw ioError('write', path, e);
  }
  syncDirectory(dir);
}

export interface AppendWriterOptions {
  /** Start from an empty file instead of appending to an existing one (default false). */
  truncate?: boolean;
  /** Bytes of text buffered in memory before they are handed to the OS (default 64 KiB). */
  bufferBytes?: number;
}

/**
 * Append-only text output (MD trajectories, energy logs). `write` buffers; the buffer goes to the
 * OS when it fills, and `flush()` also fsyncs, so a reporter that flushes every N frames loses at
 * most N frames in a power cut. Always `close()` (it flushes).
 */
export class AppendWriter {
  readonly path: string;
  private fd: number | undefined;
  private chunks: string[] = [];
  private buffered = 0;
  private readonly limit: number;

  constructor(path: string, options: AppendWriterOptions = {}) {
    this.path = path;
    this.limit = options.bufferBytes ?? 65536;
    try {
      this.fd = openSync(path, options.truncate ? 'w' : 'a', 0o644);
    } catch (e) {
      throw ioError('open for writing', path, e);
    }
  }

  /** Queue `text` for appending. */
  write(text: string): void {
    if (this.fd === undefined) throw new AtomgpError(`cannot write ${this.path}: writer is closed`);
    this.chunks.push(text);
    this.buffered += text.length;
    if (this.buffered >= this.limit) this.drain();
  }

  /** Hand buffered text to the OS and fsync it to disk. */
  flush(): void {
    if (this.fd === undefined) return;
    this.drain();
    try {
      fsyncSync(this.fd);
    } catch (e) {
      throw ioError('sync', this.path, e);
    }
  }

  /** Flush and close; further writes are errors, further closes do nothing. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  private drain(): void {
    if (this.buffered === 0 || this.fd === undefined) return;
    const text = this.chunks.join('');
    this.chunks = [];
    this.buffered = 0;
    try {
      writeAll(this.fd, text);
    } catch (e) {
      throw ioError('write', this.path, e);
    }
  }
}
