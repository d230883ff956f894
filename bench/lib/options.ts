/** Command-line options of the benchmarks. */

/** `--flag`'s value as an integer in min..max; throws naming the flag otherwise. */
export function intOption(flag: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be an integer in ${min}..${max}`);
  return n;
}

/** With --help: prints the usage line and exits 0. */
export function exitOnHelp(help: boolean | undefined, usage: string): void {
  if (!help) return;
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
