import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectColumns, dropHighestLoss, parseCsv, toPoints } from '../../src/scaling/data.ts';
import { ScalingInputError } from '../../src/scaling/errors.ts';

test('CSV parsing: quotes, CRLF, blank lines, field-count errors with line numbers', () => {
  const t = parseCsv('a,"b, quoted",c\r\n1,"x ""y""",3\r\n\r\n4,5,6\r\n', 'in.csv');
  assert.deepEqual(t.header, ['a', 'b, quoted', 'c']);
  assert.deepEqual(t.rows, [['1', 'x "y"', '3'], ['4', '5', '6']]);
  assert.deepEqual(t.lines, [2, 4]);
  assert.throws(() => parseCsv('a,b\n1,2,3\n', 'x.csv'), (e: Error) => e instanceof ScalingInputError && /x\.csv line 2: 3 fields/.test(e.message));
  assert.throws(() => parseCsv('', 'e.csv'), /empty file/);
  assert.throws(() => parseCsv('a,b\n"1,2\n', 'q.csv'), /unterminated/);
});

test('column detection under common names, explicit names, ambiguity', () => {
  const t = parseCsv('Model Size,Training FLOP,loss\n1e8,1e19,3.0\n');
  assert.deepEqual(detectColumns(t), { N: 0, C: 1, loss: 2 });
  const u = parseCsv('params,tokens,val_loss,run_id\n1,2,3,a\n');
  assert.deepEqual(detectColumns(u), { N: 0, D: 1, loss: 2, run: 3 });
  const amb = parseCsv('loss,val_loss,n\n1,2,3\n', 'amb.csv');
  assert.throws(() => detectColumns(amb), (e: Error) => /several columns could be loss: 'loss', 'val_loss'/.test(e.message) && /--loss-col/.test(e.message));
  assert.deepEqual(detectColumns(amb, { loss: 'val_loss' }).loss, 1);
  assert.throws(() => detectColumns(amb, { N: 'nope' }), /column 'nope'/);
});

test('derived columns: D = C/(6N) and C = 6ND', () => {
  const p = toPoints(parseCsv('N,C,loss\n1e8,6e18,3\n2e8,1.2e19,2.9\n'), { need: ['N', 'D'] });
  assert.deepEqual(Array.from(p.D!), [1e10, 1e10]);
  assert.ok(p.notes.some((n) => /C \/ \(6N\)/.test(n)));
  const q = toPoints(parseCsv('n,d,loss\n1e8,1e10,3\n'), { need: ['C'] });
  assert.deepEqual(Array.from(q.C!), [6e18]);
});

test('bad values: missing, non-numeric, NaN, non-positive -> clear errors naming line and column; --skip-invalid drops them', () => {
  const csv = 'N,D,loss\n1e8,1e10,3\n2e8,,2.9\n3e8,1e10,nan\n4e8,1e10,-1\n5e8,1e10,2.5\n';
  assert.throws(() => toPoints(parseCsv(csv, 'p.csv'), { need: ['N', 'D'] }), (e: Error) => e instanceof ScalingInputError && /p\.csv line 3: column 'D' \(D\) is empty/.test(e.message));
  const nanOnly = 'N,D,loss\n1e8,1e10,NaN\n';
  assert.throws(() => toPoints(parseCsv(nanOnly, 'n.csv'), { need: ['N', 'D'] }), /line 2: column 'loss' \(loss\) is 'NaN', not a finite number/);
  const neg = 'N,D,loss\n1e8,0,3\n';
  assert.throws(() => toPoints(parseCsv(neg, 'z.csv'), { need: ['N', 'D'] }), /column 'D' \(D\) is 0; it must be > 0/);
  const p = toPoints(parseCsv(csv, 'p.csv'), { need: ['N', 'D'], skipInvalid: true });
  assert.equal(p.loss.length, 2);
  assert.ok(p.notes.some((n) => /skipped 3 row/.test(n)));
  assert.throws(() => toPoints(parseCsv('x,loss\n1,2\n', 'm.csv'), { need: ['N'] }), /no parameter-count column N/);
  assert.throws(() => toPoints(parseCsv('N,y\n1,2\n', 'm.csv'), { need: ['N'] }), /no loss column/);
});

test('where-filter and drop-highest-loss (ties at the cut are dropped, as Epoch does)', () => {
  const t = parseCsv('cfg,N,D,loss\na,1,1,3\nb,1,1,4\na,2,2,5\na,3,3,5\na,4,4,1\n');
  const p = toPoints(t, { need: ['N', 'D'], where: { cfg: 'a' } });
  assert.equal(p.loss.length, 4);
  const q = dropHighestLoss(p, 1);
  assert.deepEqual(Array.from(q.loss), [3, 1]);
  assert.throws(() => toPoints(t, { need: ['N'], where: { nope: 'a' } }), /--where column 'nope' not found/);
  assert.throws(() => toPoints(t, { need: ['N'], where: { cfg: 'zzz' } }), /no data rows after --where/);
});
