import type * as NodeCrypto from 'node:crypto';
import type * as NodeFsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';

type NodeFs = typeof NodeFsPromises;

/**
 * Node's modules, imported through a variable as @tsgrad/tensor does: a bundler then leaves them
 * alone, so browser builds of apps that use tsgrad stay silent (save/load are Node-only; the Blob
 * helpers are the browser's path).
 */
export async function nodeModule<T>(name: 'node:fs/promises' | 'node:path' | 'node:crypto'): Promise<T> {
  const specifier: string = name;
  return (await import(/* @vite-ignore */ specifier)) as T;
}

/** Temp files of writes in flight in this process (a later write must not remove them). */
const writesInFlight = new Set<string>();

/**
 * `<prefix>.<hash>.tmp-<pid>-<uuid>`: one name per write, so overlapping writes never share a file.
 * `<hash>` (16 hex digits of the target's name's SHA-256) ties it to its target; `<prefix>`, the
 * target's name cut to at most TEMP_PREFIX_BYTES, is for people listing the folder. Bounded (about
 * 130 bytes), so a target name near the file system's 255-byte limit still gets a temp file.
 */
const TEMP_NAME = /^.*\.([0-9a-f]{16})\.tmp-(\d+)-[0-9a-f-]{36}$/;
/** The name tsgrad used before (`<target>.tmp-<pid>-<uuid>`): such leftovers are still cleaned up. */
const OLD_TEMP_NAME = /^(.*)\.tmp-(\d+)-[0-9a-f-]{36}$/;
const TEMP_PREFIX_BYTES = 64;

/** The longest prefix of `name` of at most `max` UTF-8 bytes that does not split a character. */
function utf8Prefix(name: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of name) {
    bytes += new TextEncoder().encode(ch).length;
    if (bytes > max) break;
    out += ch;
  }
  return out;
}

async function nameHash(name: string): Promise<string> {
  const { createHash } = await nodeModule<typeof NodeCrypto>('node:crypto');
  return createHash('sha256').update(name).digest('hex').slice(0, 16);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that a killed write left beside `path`: those of processes that no longer run,
 * and this process's own that no write of it is in flight for. Another live process's are left alone.
 */
async function removeStaleTemps(fs: NodeFs, path: string, hash: string): Promise<void> {
  const { dirname, basename, join } = await nodeModule<typeof NodePath>('node:path');
  const dir = dirname(path);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const current = TEMP_NAME.exec(name);
    const old = current ? null : OLD_TEMP_NAME.exec(name);
    const pid = Number(current ? current[2] : old?.[2]);
    if (current ? current[1] !== hash : old?.[1] !== basename(path)) continue;
    const full = join(dir, name);
    const stale = pid === process.pid ? !writesInFlight.has(full) : !processIsAlive(pid);
    // Best effort: a leftover this process may not delete must not fail the save.
    if (stale) await fs.rm(full, { force: true }).catch(() => undefined);
  }
}

/** The permission bits of the file at `path`, or undefined where there is none (a new file). */
async function existingMode(fs: NodeFs, path: string): Promise<number | undefined> {
  try {
    return (await fs.stat(path)).mode & 0o777;
  } catch {
    return undefined;
  }
}

/**
 * An Error that names the user's file, not the temp file: Node's message names the path of the
 * failing call (`ENOENT: no such file or directory, open '<temp>'`), so keep its reason only.
 */
function writeError(e: unknown, path: string, tmp: string): Error {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code && err.message.startsWith(`${err.code}: `) ? err.message.split(', ')[0] : err.message.split(tmp).join(path);
  const out = new Error(`checkpoint: cannot save '${path}': ${reason}`, { cause: e }) as NodeJS.ErrnoException;
  if (err.code) out.code = err.code;
  return out;
}

/**
 * Writes `bytes` to `path` atomically: to a temporary file of its own in the same folder (a random
 * name: overlapping writes to one path each write their own), flushed to disk, then renamed over
 * `path`. A crash mid-write leaves the old file or the new one, never a truncated one or a mix;
 * concurrent writes end with one complete file (the last rename). Temp files a killed write left are
 * removed by the next write. An existing file keeps its permission bits (a 0600 file stays 0600, the
 * temp file has them before any byte is written); a new one gets the default mode less the umask.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await nodeModule<NodeFs>('node:fs/promises');
  const { dirname, basename, join } = await nodeModule<typeof NodePath>('node:path');
  const { randomUUID } = await nodeModule<typeof NodeCrypto>('node:crypto');
  const base = basename(path);
  const hash = await nameHash(base);
  await removeStaleTemps(fs, path, hash);
  const tmp = join(dirname(path), `${utf8Prefix(base, TEMP_PREFIX_BYTES)}.${hash}.tmp-${process.pid}-${randomUUID()}`);
  writesInFlight.add(tmp);
  try {
    const mode = await existingMode(fs, path);
    const handle = await fs.open(tmp, 'wx', mode ?? 0o666);
    try {
      // open's mode passes through the umask; chmod sets the old file's bits exactly.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw writeError(e, path, tmp);
  } finally {
    writesInFlight.delete(tmp);
  }
}
