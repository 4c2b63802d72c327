// A log-linear latency histogram in the manner of HdrHistogram: exact below
// 256 units, then 128 buckets per power of two, so any recorded value is
// reported within 1/128 (0.8%) above its true value whatever its size, in a
// fixed 35 KB of counters. Recording is an index computation and an
// increment, cheap enough for a load generator's hot path; histograms from
// several runs (or processes, through toJSON/fromJSON) merge exactly.
// Units are the caller's (the benches record microseconds).

const SUB_BITS = 8;
const SUB = 1 << SUB_BITS; // values below SUB have a bucket each
const HALF = SUB >> 1; // buckets per power of two above SUB
/** Values above 2^40 units (12.7 days in µs) are clamped there. */
const MAX_EXPONENT = 40;
const BUCKETS = SUB + (MAX_EXPONENT - SUB_BITS + 1) * HALF;

/** The bucket of a non-negative integer value. */
function bucketOf(v: number): number {
  if (v < SUB) return v;
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--; // log2 rounds up just below a power of two
  e = Math.min(e, MAX_EXPONENT);
  const shift = e - SUB_BITS + 1;
  // Math.floor(v / 2^shift), not >>: values may exceed 2^31.
  const m = Math.min(Math.floor(v / 2 ** shift), SUB - 1);
  return SUB + (shift - 1) * HALF + (m - HALF);
}

/** The highest value that falls in bucket `i` (HdrHistogram's "highest equivalent value"). */
function bucketTop(i: number): number {
  if (i < SUB) return i;
  const shift = Math.floor((i - SUB) / HALF) + 1;
  const m = ((i - SUB) % HALF) + HALF;
  return (m + 1) * 2 ** shift - 1;
}

export interface HistogramJson {
  /** [bucket, count] for every non-empty bucket. */
  buckets: [number, number][];
  count: number;
  min: number;
  max: number;
  sum: number;
}

export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #min = Infinity;
  #max = 0;
  #sum = 0;

  /** Records one value (rounded to a whole unit; negative values count as 0). */
  record(value: number): void {
    const v = Math.max(0, Math.round(value));
    this.#counts[bucketOf(v)]++;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number { return this.#count; }
  /** Exact, not bucketed. */
  get max(): number { return this.#max; }
  get min(): number { return this.#count ? this.#min : 0; }
  get mean(): number { return this.#count ? this.#sum / this.#count : 0; }

  /**
   * The value at percentile `p` (0–100): the smallest recorded value v such
   * that at least p% of the values are ≤ v, reported as the top of its
   * bucket (never more than the exact max). 0 for an empty histogram.
   */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      // The top bucket also holds the clamped values: only the max is known there.
      if (seen >= rank) return i === BUCKETS - 1 ? this.#max : Math.min(bucketTop(i), this.#max);
    }
    return this.#max;
  }

  /** How many recorded values are at least `value`, to the histogram's precision (a bucket counts if its top reaches `value`). */
  countAtLeast(value: number): number {
    let n = 0;
    for (let i = bucketOf(Math.max(0, Math.round(value))); i < BUCKETS; i++) n += this.#counts[i];
    return n;
  }

  /** Adds every value of `other` to this one. */
  merge(other: Histogram): this {
    const o = other.toJSON();
    for (const [i, n] of o.buckets) this.#counts[i] += n;
    this.#count += o.count;
    this.#sum += o.sum;
    if (o.count && o.min < this.#min) this.#min = o.min;
    if (o.max > this.#max) this.#max = o.max;
    return this;
  }

  toJSON(): HistogramJson {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i]) buckets.push([i, this.#counts[i]]);
    return { buckets, count: this.#count, min: this.min, max: this.#max, sum: this.#sum };
  }

  static fromJSON(j: HistogramJson): Histogram {
    const h = new Histogram();
    for (const [i, n] of j.buckets) h.#counts[i] = n;
    h.#count = j.count;
    h.#sum = j.sum;
    h.#min = j.count ? j.min : Infinity;
    h.#max = j.max;
    return h;
  }
}
