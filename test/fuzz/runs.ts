/**
 * How many cases each property test generates, and from which seed. The default run is small and
 * fixed, so CI stays fast and a failure reproduces; docs/reliability.md gives the full-run command.
 */
function fromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name}=${text}: expected a positive integer`);
  return value;
}

/** CLAWCREW_FUZZ_RUNS: cases per property (default 300; the full run uses 10000). */
export const FUZZ_RUNS = fromEnv("CLAWCREW_FUZZ_RUNS", 300);
/** CLAWCREW_FUZZ_SEED: fast-check's seed; a failure prints the seed and path that reproduce it. */
export const FUZZ_SEED = fromEnv("CLAWCREW_FUZZ_SEED", 20_261_202);

/** fast-check parameters for one property; `scale` shrinks the runs of a costly one. */
export const fuzzParameters = (scale = 1) => ({
  numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)),
  seed: FUZZ_SEED,
  endOnFailure: true,
});

/** A test's time budget grown with the run count, so a full run is not cut by the default timeout. */
export const fuzzTimeoutMs = (msPerRun: number) => Math.max(60_000, FUZZ_RUNS * msPerRun);
