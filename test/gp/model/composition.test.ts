import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compositionNames, formatComposition, parseComposition } from '../../../src/gp/model/composition.js';
import type { Composition } from '../../../src/gp/model/model.js';
import { AtomgpError } from '../../../src/errors.js';

const k = (name: string): Composition => ({ op: 'kernel', name });

test('single kernels and products parse, with or without parentheses and spaces', () => {
  assert.deepEqual(parseComposition('k1'), k('k1'));
  assert.deepEqual(parseComposition('(k1*k2)'), { op: '*', left: k('k1'), right: k('k2') });
  assert.deepEqual(parseComposition('  k1 *\tk2 '), { op: '*', left: k('k1'), right: k('k2') });
  assert.deepEqual(parseComposition('((rbf_a))'), k('rbf_a'));
});

test('* binds tighter than +, and both associate to the left', () => {
  assert.deepEqual(parseComposition('k1+k2*k3'), { op: '+', left: k('k1'), right: { op: '*', left: k('k2'), right: k('k3') } });
  assert.deepEqual(parseComposition('k1*k2+k3'), { op: '+', left: { op: '*', left: k('k1'), right: k('k2') }, right: k('k3') });
  assert.deepEqual(parseComposition('(k1+k2)*k3'), { op: '*', left: { op: '+', left: k('k1'), right: k('k2') }, right: k('k3') });
  assert.deepEqual(parseComposition('k1+k2+k3'), { op: '+', left: { op: '+', left: k('k1'), right: k('k2') }, right: k('k3') });
  assert.deepEqual(compositionNames(parseComposition('k2*(k1+k2)')), ['k2', 'k1']);
});

test('formatComposition writes the fewest parentheses and parses back to the same tree', () => {
  const cases: Array<[string, string]> = [
    ['k1', 'k1'],
    ['(k1*k2)', 'k1*k2'],
    ['k1 + k2 * k3', 'k1+k2*k3'],
    ['(k1+k2)*k3', '(k1+k2)*k3'],
    ['k1*(k2*k3)', 'k1*(k2*k3)'],
    ['k1+(k2+k3)', 'k1+(k2+k3)'],
    ['(k1*k2)+(k3*(k4+k5))', 'k1*k2+k3*(k4+k5)'],
  ];
  for (const [input, expected] of cases) {
    const c = parseComposition(input);
    assert.equal(formatComposition(c), expected);
    assert.deepEqual(parseComposition(formatComposition(c)), c);
  }
});

test('malformed compositions give errors saying what and where', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['(k1*k2', /expected '\)' closing the '\(' at column 1, found end of expression/],
    ['k1*k2)', /unmatched '\)' at column 6/],
    ['k1*', /expected a kernel name or '\(', found end of expression at column 4/],
    ['+k1', /expected a kernel name or '\(', found '\+' at column 1/],
    ['k1**k2', /found '\*' at column 4/],
    ['k1 k2', /expected '\+', '\*' or end of expression, found 'k' at column 4/],
    ['()', /found '\)' at column 2/],
    ['k1-k2', /found '-' at column 3/],
    ['1k', /expected a kernel name/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseComposition(text),
      (e: unknown) => e instanceof AtomgpError && re.test(e.message),
      `'${text}'`,
    );
  }
});
