import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flagInteger, flagNumber } from '../../src/cli/common.js';
import { MAX_MESSAGE_CHARS, oneLine, userErrorMessage } from '../../src/cli/main.js';
import { AtomgpError } from '../../src/errors.js';

test('flagNumber: decimal and Fortran numbers only, the fallback when absent, ranges enforced', () => {
  assert.equal(flagNumber('x', undefined, 7), 7);
  assert.equal(flagNumber('x', '2.5', 0), 2.5);
  assert.equal(flagNumber('x', '-1e-3', 0), -0.001);
  assert.equal(flagNumber('x', '1.5D2', 0), 150);
  for (const bad of ['0x10', 'Infinity', '-Infinity', 'NaN', '', ' ', '1e400', '1_0', '0b1', '1,5', 'abc', '1e16']) {
    assert.throws(() => flagNumber('x', bad, 0), /^AtomgpError: --x expects a number/, bad);
  }
  assert.throws(() => flagNumber('t', '-1', 0, { min: 0 }), /--t expects a number ≥ 0 \(decimal notation\), got '-1'/);
  assert.throws(() => flagNumber('t', '5', 0, { max: 1, expected: 'must be small' }), /--t must be small, got '5'/);
});

test('flagInteger: digits only, bounds in the message', () => {
  assert.equal(flagInteger('n', '12', 0), 12);
  assert.equal(flagInteger('n', undefined, 3), 3);
  for (const bad of ['1.5', '1e3', '0x10', '', '-1', '9007199254740993']) {
    assert.throws(() => flagInteger('n', bad, 0), /--n expects an integer ≥ 0, got/, bad);
  }
  assert.throws(() => flagInteger('n', '0', 0, 1, 10), /--n expects an integer from 1 to 10, got '0'/);
});

test('oneLine flattens control characters and elides the middle of long messages', () => {
  assert.equal(oneLine('a\nb\r\n\tc\u0000d'), 'a b c d');
  const long = oneLine(`start ${'x'.repeat(3_000_000)} end`);
  assert.ok(long.length <= MAX_MESSAGE_CHARS + 40, String(long.length));
  assert.match(long, /^start x+ \.\.\. \[\d+ characters\] \.\.\. x+ end$/);
});

test('userErrorMessage: AtomgpError, parseArgs and file-system errors are user errors; others are bugs', () => {
  assert.equal(userErrorMessage(new AtomgpError('bad')), 'bad');
  const enotdir = Object.assign(new Error('ENOTDIR: not a directory'), { code: 'ENOTDIR', syscall: 'mkdir', path: '/a/b' });
  assert.equal(userErrorMessage(enotdir), 'cannot mkdir /a/b: a part of the path is a file, not a folder (ENOTDIR)');
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/out/log.csv' });
  assert.equal(userErrorMessage(full), 'cannot write /out/log.csv: no space left on the device (ENOSPC)');
  const readOnly = Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES', syscall: 'open', path: '/out/x' });
  assert.equal(userErrorMessage(readOnly), 'cannot open /out/x: permission denied (EACCES)');
  const ambiguous = Object.assign(new Error("Option '--steps' argument is ambiguous.\nDid you forget...\nTo specify..."), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
  assert.match(userErrorMessage(ambiguous)!, /^--steps needs a value; a value starting with '-' must be written --steps=VALUE/);
  assert.equal(userErrorMessage(new RangeError('Invalid array length')), undefined);
  assert.equal(userErrorMessage(new TypeError('x is undefined')), undefined);
});
