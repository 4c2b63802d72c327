// A bench's numeric flags: `--name N` on its command line, else the default.

export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** A bench's string flags: `--name VALUE`, else the default. */
export function stringArg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

/**
 * Reads integer flag values (`1_000_000` allowed) of at least `min`; anything
 * else is pushed to `problems`, naming the flag, and reads as `min`.
 */
export function intFlag(problems: string[]): (name: string, v: string | undefined, min: number) => number {
  return (name, v, min) => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) { problems.push(`${name} must be an integer >= ${min}, got ${v}`); return min; }
    return n;
  };
}
