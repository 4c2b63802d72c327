// For CLI tests: what a command printed with console.log while `f` ran, line by line.

export async function printed(f: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try { await f(); } finally { console.log = log; }
  return lines.join('\n');
}
