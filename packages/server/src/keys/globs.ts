/**
 * Repository globs for signing keys. A glob is a repository name (segments of [A-Za-z0-9._-] separated by
 * "/") in which a segment may also hold `*` (any run of characters within that one segment, e.g. `app-*`) or
 * be exactly `**` (any number of whole segments, none included: `prod/**` matches `prod`, `prod/a` and
 * `prod/a/b`; `**` alone matches every repository).
 *
 * Each glob becomes a small NFA over characters; "do two globs share a repository name" is a search over
 * pairs of states (the product automaton), exact for this glob language.
 */

export const MAX_GLOB_LENGTH = 256;
export const MAX_REPOSITORIES = 100;

const SEGMENT = /^[A-Za-z0-9._*-]+$/;

/** Why `g` is not a valid glob, or undefined when it is. */
export function globProblem(g: string): string | undefined {
  if (g.length === 0 || g.length > MAX_GLOB_LENGTH) return `must be 1 to ${MAX_GLOB_LENGTH} characters`;
  for (const s of g.split('/')) {
    if (s === '') return 'has an empty path segment (a leading, trailing or double "/")';
    if (!SEGMENT.test(s)) return 'may hold only letters, digits, ".", "_", "-", "/" and "*"';
    if (s.includes('**') && s !== '**') return '"**" must be a whole path segment';
  }
  return undefined;
}

/** Why `name` is not a valid repository name (a glob without wildcards), or undefined. */
export function repositoryProblem(name: string): string | undefined {
  if (name.includes('*')) return 'must be a repository name, not a glob';
  return globProblem(name);
}

/** An edge reads one character: a literal, or any character but "/". Epsilon edges read none. */
type Label = { lit: string } | 'nonslash' | 'eps';

interface Nfa {
  edges: { from: number; label: Label; to: number }[][];
  start: number;
  accept: number;
}

class Builder {
  readonly edges: { from: number; label: Label; to: number }[][] = [];
  node(): number {
    this.edges.push([]);
    return this.edges.length - 1;
  }
  edge(from: number, label: Label, to: number): void {
    this.edges[from]!.push({ from, label, to });
  }
  /** Appends one literal character after `at`; returns the new end. */
  lit(at: number, c: string): number {
    const n = this.node();
    this.edge(at, { lit: c }, n);
    return n;
  }
  /** `*`: any run of non-slash characters (a self-loop). */
  star(at: number): number {
    const n = this.node();
    this.edge(at, 'eps', n);
    this.edge(n, 'nonslash', n);
    return n;
  }
  /** A whole `*` segment: one or more non-slash characters (a segment is never empty). */
  plus(at: number): number {
    const n = this.node();
    this.edge(at, 'nonslash', n);
    this.edge(n, 'nonslash', n);
    return n;
  }
  /** One or more whole segments: [^/]+(/[^/]+)*. */
  segments(at: number): number {
    const q = this.node();
    const r = this.node();
    this.edge(at, 'nonslash', q);
    this.edge(q, 'nonslash', q);
    this.edge(q, { lit: '/' }, r);
    this.edge(r, 'nonslash', q);
    return q;
  }
}

function compile(glob: string): Nfa {
  const b = new Builder();
  const start = b.node();
  let at = start;
  const segs = glob.split('/');
  if (segs.length === 1 && segs[0] === '**') return { edges: b.edges, start, accept: b.segments(at) };
  segs.forEach((s, i) => {
    const last = i === segs.length - 1;
    if (s === '**') {
      const end = b.node();
      if (!last) {
        // "a/**/z": after the separator, nothing or one or more segments and a slash.
        if (i > 0 && segs[i - 1] !== '**') at = b.lit(at, '/');
        b.edge(at, 'eps', end);
        b.edge(b.lit(b.segments(at), '/'), 'eps', end);
      } else {
        // "/**" at the end = nothing (the slash before it included), or a slash and one or more segments.
        b.edge(at, 'eps', end);
        b.edge(b.segments(b.lit(at, '/')), 'eps', end);
      }
      at = end;
      return;
    }
    if (i > 0 && segs[i - 1] !== '**') at = b.lit(at, '/');
    if (s === '*') at = b.plus(at);
    else for (const c of s) at = c === '*' ? b.star(at) : b.lit(at, c);
  });
  return { edges: b.edges, start, accept: at };
}

const cache = new Map<string, Nfa>();
function nfa(glob: string): Nfa {
  let n = cache.get(glob);
  if (!n) {
    n = compile(glob);
    if (cache.size > 4096) cache.clear();
    cache.set(glob, n);
  }
  return n;
}

/** The character both labels can read, if any ("a" stands for "some non-slash character"). */
function common(x: Label, y: Label): boolean {
  if (x === 'eps' || y === 'eps') return false;
  if (x === 'nonslash' && y === 'nonslash') return true;
  if (x === 'nonslash') return (y as { lit: string }).lit !== '/';
  if (y === 'nonslash') return x.lit !== '/';
  return x.lit === y.lit;
}

/** Whether some repository name matches both globs (also the rule for what a repository-limited token may see). */
export function globsIntersect(a: string, b: string): boolean {
  const x = nfa(a);
  const y = nfa(b);
  const width = y.edges.length;
  const seen = new Set<number>();
  const stack: [number, number][] = [[x.start, y.start]];
  while (stack.length > 0) {
    const [p, q] = stack.pop() as [number, number];
    const k = p * width + q;
    if (seen.has(k)) continue;
    seen.add(k);
    if (p === x.accept && q === y.accept) return true;
    for (const e of x.edges[p] ?? []) if (e.label === 'eps') stack.push([e.to, q]);
    for (const f of y.edges[q] ?? []) if (f.label === 'eps') stack.push([p, f.to]);
    for (const e of x.edges[p] ?? []) for (const f of y.edges[q] ?? []) if (common(e.label, f.label)) stack.push([e.to, f.to]);
  }
  return false;
}

/** Whether a repository name matches a glob. */
export function globMatches(glob: string, repository: string): boolean {
  return globsIntersect(glob, repository);
}
