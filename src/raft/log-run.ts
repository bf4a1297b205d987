// What every run of old log entries in MemoryStorage shares (packed-run.ts keeps
// the encodings in memory, cold-run.ts reads them back from the WAL): a stretch
// of consecutive indexes and each one's term, which the core asks for far more
// often than the entries themselves.

export abstract class LogRun {
  protected constructor(
    /** Index of the run's first entry. */
    readonly first: number,
    /** Entries in the run (a truncated run shares its arrays with the original). */
    readonly count: number,
    protected readonly terms: Float64Array,
    /** For messages: "packed", "cold". */
    private readonly kind: string,
  ) {}

  /** Index of the run's last entry. */
  get last(): number {
    return this.first + this.count - 1;
  }

  /** Whether index i is in the run. */
  has(i: number): boolean {
    return i >= this.first && i <= this.last;
  }

  term(i: number): number {
    return this.terms[this.offsetOf(i)]!;
  }

  /** Where entry i is in the run's arrays; throws for an index outside it. */
  protected offsetOf(i: number): number {
    if (!this.has(i)) throw new Error(`entry ${i} is not in the ${this.kind} run ${this.first}..${this.last}`);
    return i - this.first;
  }
}
