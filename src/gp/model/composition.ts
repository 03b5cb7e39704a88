/**
 * Kernel composition expressions of the FFLUX model format (`k1`, `(k1*k2)`, `k1*k2+k3`): kernel
 * names combined with `+` and `*` and parentheses, `*` binding tighter than `+`, both
 * left-associative. Grammar:
 *   expr   := term ('+' term)*
 *   term   := factor ('*' factor)*
 *   factor := name | '(' expr ')'
 */
import { AtomgpError } from '../../errors.js';
import type { Composition } from './model.js';

const NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y;

function compositionError(text: string, pos: number, what: string): AtomgpError {
  return new AtomgpError(`kernel composition '${text}': ${what} at column ${pos + 1}`);
}

/** Parse a composition expression; throws an AtomgpError saying what is wrong and where. */
export function parseComposition(text: string): Composition {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const describe = (): string => (pos < text.length ? `'${text[pos]}'` : 'end of expression');

  const factor = (): Composition => {
    skipSpace();
    if (text[pos] === '(') {
      const open = pos;
      pos++;
      const inner = expr();
      skipSpace();
      if (text[pos] !== ')') {
        throw compositionError(text, pos, `expected ')' closing the '(' at column ${open + 1}, found ${describe()}`);
      }
      pos++;
      return inner;
    }
    NAME_RE.lastIndex = pos;
    const m = NAME_RE.exec(text);
    if (!m) throw compositionError(text, pos, `expected a kernel name or '(', found ${describe()}`);
    pos += m[0].length;
    return { op: 'kernel', name: m[0] };
  };

  const term = (): Composition => {
    let left = factor();
    for (;;) {
      skipSpace();
      if (text[pos] !== '*') return left;
      pos++;
      left = { op: '*', left, right: factor() };
    }
  };

  const expr = (): Composition => {
    let left = term();
    for (;;) {
      skipSpace();
      if (text[pos] !== '+') return left;
      pos++;
      left = { op: '+', left, right: term() };
    }
  };

  skipSpace();
  if (pos === text.length) throw new AtomgpError(`kernel composition is empty (expected e.g. 'k1' or 'k1*k2')`);
  const c = expr();
  skipSpace();
  if (pos < text.length) {
    throw compositionError(
      text,
      pos,
      text[pos] === ')' ? `unmatched ')'` : `expected '+', '*' or end of expression, found ${describe()}`,
    );
  }
  return c;
}

/**
 * Text of a composition without spaces (FFLUX readers split lines on whitespace), with only the
 * parentheses needed to give back the same tree: `parseComposition(formatComposition(c))` equals c.
 */
export function formatComposition(c: Composition): string {
  if (c.op === 'kernel') return c.name;
  const wrap = (child: Composition, needParens: boolean): string => {
    const s = formatComposition(child);
    return needParens ? `(${s})` : s;
  };
  if (c.op === '*') {
    // a '+' child would rebind; a '*' right child would re-associate to the left
    return `${wrap(c.left, c.left.op === '+')}*${wrap(c.right, c.right.op !== 'kernel')}`;
  }
  return `${wrap(c.left, false)}+${wrap(c.right, c.right.op === '+')}`;
}

/** Kernel names used in a composition, in order of first appearance. */
export function compositionNames(c: Composition): string[] {
  const out: string[] = [];
  const visit = (n: Composition): void => {
    if (n.op === 'kernel') {
      if (!out.includes(n.name)) out.push(n.name);
    } else {
      visit(n.left);
      visit(n.right);
    }
  };
  visit(c);
  return out;
}

/** Structural equality of two compositions. */
export function sameComposition(a: Composition, b: Composition): boolean {
  if (a.op === 'kernel' || b.op === 'kernel') return a.op === b.op && (a as { name: string }).name === (b as { name: string }).name;
  return a.op === b.op && sameComposition(a.left, b.left) && sameComposition(a.right, b.right);
}
