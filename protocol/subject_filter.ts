/**
 * An allow/deny filter over subjects, for what may cross a leafnode link:
 * messages (literal subjects) and interest (subjects with wildcards).
 *
 * @module
 */
import {
  subjectHasWildcard,
  subjectIsSubsetOf,
  subjectMatches,
  subjectsCollide,
} from "./subject.ts";

export interface SubjectFilterSpec {
  allow?: readonly string[];
  deny?: readonly string[];
}

/** Verdicts kept per filter; leaf links see a bounded working set of subjects. */
const VERDICT_CACHE_SIZE = 1024;

export class SubjectFilter {
  readonly allow?: readonly string[];
  readonly deny: readonly string[];
  #verdicts = new Map<string, boolean>();

  constructor(spec: SubjectFilterSpec = {}) {
    this.allow = spec.allow && spec.allow.length > 0 ? [...spec.allow] : undefined;
    this.deny = [...(spec.deny ?? [])];
  }

  /** A filter that also denies `extra`. */
  withDenied(extra: readonly string[]): SubjectFilter {
    if (extra.length === 0) return this;
    return new SubjectFilter({ allow: this.allow, deny: [...this.deny, ...extra] });
  }

  /** True when nothing is filtered. */
  get open(): boolean {
    return this.allow === undefined && this.deny.length === 0;
  }

  /** Whether a message on the literal `subject` may pass. */
  allowsMessage(subject: string): boolean {
    if (this.open) return true;
    const cached = this.#verdicts.get(subject);
    if (cached !== undefined) return cached;
    const allowed =
      (this.allow === undefined || this.allow.some((a) => subjectMatches(a, subject))) &&
      !this.deny.some((d) => subjectMatches(d, subject));
    if (this.#verdicts.size >= VERDICT_CACHE_SIZE) this.#verdicts.clear();
    this.#verdicts.set(subject, allowed);
    return allowed;
  }

  /**
   * Whether interest in `subject` (which may hold wildcards) may be advertised:
   * a wildcard passes when some allowed subject falls under it and a deny entry
   * does not cover all of it; deliveries are filtered per message anyway.
   */
  allowsInterest(subject: string): boolean {
    if (!subjectHasWildcard(subject)) return this.allowsMessage(subject);
    if (this.deny.some((d) => subjectIsSubsetOf(subject, d))) return false;
    return this.allow === undefined || this.allow.some((a) => subjectsCollide(a, subject));
  }
}
