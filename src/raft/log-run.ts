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

  /**
   * The terms of consecutive entries (entries[k].index === entries[0].index + k),
   * for a run of them; `what` names the caller in errors.
   */
  protected static termsOf(entries: readonly { index: number; term: number }[], what: string): Float64Array {
    const n = entries.length;
    if (n === 0) throw new Error(`${what}: no entries`);
    const terms = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const e = entries[k]!;
      if (e.index !== entries[0]!.index + k) throw new Error(`${what}: entry ${e.index} at position ${k} of a run from ${entries[0]!.index}`);
      terms[k] = e.term;
    }
    return terms;
  }

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
