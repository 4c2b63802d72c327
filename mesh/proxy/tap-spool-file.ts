// The file under a tap spool (./tap-spool.ts): appended to with write(),
// replaced whole by a rename, synced on demand or in the background. Errors
// are thrown; the spool decides what they mean.

import { closeSync, fdatasync, fdatasyncSync, openSync, renameSync, rmSync, writeSync, writevSync } from 'node:fs';

export interface SpoolFileCounters {
  writes: number;
  /** Bytes written in all, replacements included. */
  written_bytes: number;
  fsyncs: number;
}

export class SpoolFile {
  readonly path: string;
  readonly counters: SpoolFileCounters = { writes: 0, written_bytes: 0, fsyncs: 0 };
  #fd = -1;
  #size = 0;
  #dirty = false;
  #syncing = false;

  constructor(path: string) {
    this.path = path;
  }

  /** Bytes in the file now. */
  get size(): number { return this.#size; }

  /**
   * Makes `bufs` the whole file: written to `<path>.tmp`, synced, then
   * renamed over the path, so a crash at any point leaves the old file or
   * the new one, whole. Appends go to the new file after this.
   */
  replace(bufs: Buffer[]): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    let size: number;
    try {
      size = writevAll(fd, bufs);
      // Synced before the rename, whatever the sync policy: a machine crash must
      // not leave the new name on an empty file where the old one was whole.
      fdatasyncSync(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    renameSync(tmp, this.path);
    this.close();
    this.#fd = fd;
    this.#size = size;
    this.#dirty = false;
    this.counters.writes++;
    this.counters.written_bytes += size;
    this.counters.fsyncs++;
  }

  /** Appends `bufs` with one write (the kernel's page cache has them when this returns). */
  append(bufs: Buffer[]): void {
    const n = bufs.length === 1 ? writeAll(this.#fd, bufs[0]) : writevAll(this.#fd, bufs);
    this.#size += n;
    this.#dirty = true;
    this.counters.writes++;
    this.counters.written_bytes += n;
  }

  /** fdatasync now, if anything was written since the last one. */
  sync(): void {
    if (!this.#dirty || this.#fd < 0) return;
    fdatasyncSync(this.#fd);
    this.#dirty = false;
    this.counters.fsyncs++;
  }

  /**
   * fdatasync on the thread pool, off the event loop (a sync one would stall
   * every request for as long as the disk takes). When a replace() swaps the
   * file meanwhile, that sync is moot (the new file was synced before its
   * rename) and an error from it is ignored.
   */
  syncInBackground(onError: (e: Error) => void): void {
    if (!this.#dirty || this.#fd < 0 || this.#syncing) return;
    const fd = this.#fd;
    this.#dirty = false;
    this.#syncing = true;
    fdatasync(fd, (e) => {
      this.#syncing = false;
      if (!e) this.counters.fsyncs++;
      else if (fd === this.#fd) onError(e);
    });
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }

  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }
}

function writeAll(fd: number, buf: Buffer): number {
  for (let at = 0; at < buf.length;) at += writeSync(fd, buf, at);
  return buf.length;
}

function writevAll(fd: number, bufs: Buffer[]): number {
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const done = writevSync(fd, bufs);
  // A short write (rare for a regular file): finish the rest.
  if (done < total) writeAll(fd, Buffer.concat(bufs).subarray(done));
  return total;
}
