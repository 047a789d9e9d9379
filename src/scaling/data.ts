/**
 * Input data for the fits: CSV parsing with column detection under common names, filtering, validation,
 * and Epoch AI's preprocessing of the Chinchilla points (D = C / (6N), drop the k highest losses).
 */
import { readFileSync } from 'node:fs';
import { ScalingInputError } from './errors.ts';

export type Role = 'N' | 'D' | 'C' | 'loss' | 'run';

/** Normalised header names (lower case, letters and digits only) recognised for each role. */
export const COLUMN_ALIASES: Record<Role, readonly string[]> = {
  N: ['n', 'params', 'parameters', 'nparams', 'numparams', 'nparameters', 'numparameters', 'modelsize', 'nonembeddingparams', 'paramsnonembedding'],
  D: ['d', 'tokens', 'ntokens', 'numtokens', 'trainingtokens', 'datasize', 'datasetsize', 'trainedtokens'],
  C: ['c', 'flops', 'flop', 'compute', 'trainingflop', 'trainingflops', 'trainingcompute', 'computeflops'],
  loss: ['loss', 'l', 'valloss', 'validationloss', 'trainloss', 'evalloss', 'testloss', 'finalloss'],
  run: ['run', 'runid', 'runname', 'model', 'modelname', 'name'],
};

export function normaliseHeader(h: string): string {
  return h.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** A parsed CSV table: header and string cells, with the 1-based line number of every row. */
export interface Table {
  source: string;
  header: string[];
  rows: string[][];
  lines: number[];
}

/** Parse CSV text (RFC 4180 quoting; comma separated; blank lines ignored). */
export function parseCsv(text: string, source = '<csv>'): Table {
  const records: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let inQuotes = false;
  let line = 1;
  let startLine = 1;
  let sawContent = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"') {
      inQuotes = true;
      sawContent = true;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
      sawContent = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      if (sawContent || cell.trim() !== '') {
        cells.push(cell);
        records.push({ cells, line: startLine });
      }
      cells = [];
      cell = '';
      sawContent = false;
      line++;
      startLine = line;
    } else {
      cell += ch;
      if (ch.trim() !== '') sawContent = true;
    }
  }
  if (inQuotes) throw new ScalingInputError(`${source}: unterminated quoted field starting on line ${startLine}`);
  if (sawContent || cell.trim() !== '') {
    cells.push(cell);
    records.push({ cells, line: startLine });
  }
  if (records.length === 0) throw new ScalingInputError(`${source}: empty file (expected a header row and data rows)`);
  const header = records[0]!.cells.map((h) => h.trim());
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const r of records.slice(1)) {
    if (r.cells.length !== header.length) {
      throw new ScalingInputError(`${source} line ${r.line}: ${r.cells.length} fields, but the header has ${header.length}`);
    }
    rows.push(r.cells.map((c) => c.trim()));
    lines.push(r.line);
  }
  return { source, header, rows, lines };
}

export function readCsv(path: string): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScalingInputError(`cannot read --input ${path}: ${(e as Error).message}`);
  }
  return parseCsv(text, path);
}

/** Keep rows where every `column = value` condition holds (exact string match on the trimmed cell). */
export function filterRows(table: Table, where: Record<string, string>): Table {
  const idx: [number, string][] = [];
  for (const [col, val] of Object.entries(where)) {
    const i = table.header.indexOf(col);
    if (i < 0) throw new ScalingInputError(`${table.source}: --where column '${col}' not found (columns: ${table.header.join(', ')})`);
    idx.push([i, val]);
  }
  const rows: string[][] = [];
  const lines: number[] = [];
  table.rows.forEach((r, k) => {
    if (idx.every(([i, v]) => r[i] === v)) {
      rows.push(r);
      lines.push(table.lines[k]!);
    }
  });
  return { ...table, rows, lines };
}

/** Find the column for each role: explicit names win, otherwise the aliases. Ambiguity is an error. */
export function detectColumns(table: Table, explicit: Partial<Record<Role, string>> = {}): Partial<Record<Role, number>> {
  const out: Partial<Record<Role, number>> = {};
  const norm = table.header.map(normaliseHeader);
  for (const role of Object.keys(COLUMN_ALIASES) as Role[]) {
    const name = explicit[role];
    if (name !== undefined) {
      let i = table.header.indexOf(name);
      if (i < 0) i = norm.indexOf(normaliseHeader(name));
      if (i < 0) throw new ScalingInputError(`${table.source}: column '${name}' (given for ${role}) not found (columns: ${table.header.join(', ')})`);
      out[role] = i;
      continue;
    }
    const hits = norm.map((h, i) => (COLUMN_ALIASES[role].includes(h) ? i : -1)).filter((i) => i >= 0);
    if (hits.length > 1) {
      throw new ScalingInputError(
        `${table.source}: several columns could be ${role}: ${hits.map((i) => `'${table.header[i]}'`).join(', ')}; name one with --${role === 'loss' ? 'loss' : role.toLowerCase()}-col`,
      );
    }
    if (hits.length === 1) out[role] = hits[0]!;
  }
  return out;
}

/** Columnar data for the fits. Arrays have equal length; absent quantities are null. */
export interface Points {
  source: string;
  N: Float64Array | null;
  D: Float64Array | null;
  C: Float64Array | null;
  loss: Float64Array;
  run: string[] | null;
  /** Source line of every point (for messages). */
  lines: number[];
  /** Notes about preprocessing (derived columns, dropped rows). */
  notes: string[];
}

export interface LoadOptions {
  columns?: Partial<Record<Role, string>>;
  /** Which quantities the fit needs; 'D' can be derived from C and N, 'C' from N and D (C = 6ND). */
  need: ('N' | 'D' | 'C')[];
  /** Drop rows with missing / non-positive / non-numeric values instead of failing (each drop is noted). */
  skipInvalid?: boolean;
  /** Drop the k rows with the highest loss (Epoch AI drops 5 of the 245 Chinchilla points). */
  dropHighestLoss?: number;
  /** Rows to keep (column = value), applied before anything else. */
  where?: Record<string, string>;
}

/** Turn a table into validated Points for a fit. */
export function toPoints(table0: Table, opts: LoadOptions): Points {
  const table = opts.where && Object.keys(opts.where).length > 0 ? filterRows(table0, opts.where) : table0;
  const src = table.source;
  if (table.rows.length === 0) throw new ScalingInputError(`${src}: no data rows${opts.where ? ' after --where filtering' : ''}`);
  const cols = detectColumns(table, opts.columns ?? {});
  const notes: string[] = [];
  const needN = opts.need.includes('N');
  const needD = opts.need.includes('D');
  const needC = opts.need.includes('C');
  if (cols.loss === undefined) throw new ScalingInputError(`${src}: no loss column (looked for ${COLUMN_ALIASES.loss.join(', ')}); name it with --loss-col`);
  const has = (r: Role): boolean => cols[r] !== undefined;
  if (needN && !has('N')) throw new ScalingInputError(`${src}: no parameter-count column N (looked for ${COLUMN_ALIASES.N.join(', ')}); name it with --n-col`);
  if (needD && !has('D') && !(has('C') && has('N'))) {
    throw new ScalingInputError(`${src}: no token column D (looked for ${COLUMN_ALIASES.D.join(', ')}) and no C and N columns to derive D = C/(6N); name it with --d-col`);
  }
  if (needC && !has('C') && !(has('N') && has('D'))) {
    throw new ScalingInputError(`${src}: no compute column C (looked for ${COLUMN_ALIASES.C.join(', ')}) and no N and D columns to derive C = 6ND; name it with --c-col`);
  }
  const useN = has('N') && (needN || (needD && !has('D')) || (needC && !has('C')));
  const useD = has('D') && (needD || (needC && !has('C')));
  const useC = has('C') && (needC || (needD && !has('D')));
  const parse = (row: string[], line: number, role: Role): number | string => {
    const cell = row[cols[role]!]!;
    const name = table.header[cols[role]!]!;
    if (cell === '') return `line ${line}: column '${name}' (${role}) is empty`;
    const v = Number(cell);
    if (!Number.isFinite(v)) return `line ${line}: column '${name}' (${role}) is '${cell}', not a finite number`;
    if (!(v > 0)) return `line ${line}: column '${name}' (${role}) is ${cell}; it must be > 0`;
    return v;
  };
  const Nv: number[] = [];
  const Dv: number[] = [];
  const Cv: number[] = [];
  const Lv: number[] = [];
  const runs: string[] = [];
  const lines: number[] = [];
  let skipped = 0;
  table.rows.forEach((row, k) => {
    const line = table.lines[k]!;
    const vals: Partial<Record<Role, number>> = {};
    for (const role of ['loss', ...(useN ? ['N'] : []), ...(useD ? ['D'] : []), ...(useC ? ['C'] : [])] as Role[]) {
      const v = parse(row, line, role);
      if (typeof v === 'string') {
        if (opts.skipInvalid) {
          skipped++;
          return;
        }
        throw new ScalingInputError(`${src} ${v} (use --skip-invalid to drop such rows)`);
      }
      vals[role] = v;
    }
    Lv.push(vals.loss!);
    if (useN) Nv.push(vals.N!);
    if (useD) Dv.push(vals.D!);
    if (useC) Cv.push(vals.C!);
    if (has('run')) runs.push(row[cols.run!]!);
    lines.push(line);
  });
  if (skipped > 0) notes.push(`skipped ${skipped} row(s) with missing, non-numeric or non-positive values`);
  if (Lv.length === 0) throw new ScalingInputError(`${src}: no valid rows left`);
  const n = Lv.length;
  let N = useN ? Float64Array.from(Nv) : null;
  let D = useD ? Float64Array.from(Dv) : null;
  let C = useC ? Float64Array.from(Cv) : null;
  if ((needD || needC) && D === null && C !== null && N !== null) {
    D = new Float64Array(n);
    for (let i = 0; i < n; i++) D[i] = C[i]! / (6 * N[i]!);
    notes.push('D derived as C / (6N)');
  }
  if (needC && C === null && N !== null && D !== null) {
    C = new Float64Array(n);
    for (let i = 0; i < n; i++) C[i] = 6 * N[i]! * D[i]!;
    notes.push('C derived as 6ND');
  }
  let pts: Points = { source: src, N, D, C, loss: Float64Array.from(Lv), run: has('run') ? runs : null, lines, notes };
  if (opts.dropHighestLoss && opts.dropHighestLoss > 0) pts = dropHighestLoss(pts, opts.dropHighestLoss);
  return pts;
}

/** Select points by index (keeps every column aligned). */
export function subset(p: Points, idx: ArrayLike<number>): Points {
  const pick = (a: Float64Array | null): Float64Array | null => (a === null ? null : Float64Array.from(Array.from(idx, (i) => a[i]!)));
  return {
    source: p.source,
    N: pick(p.N),
    D: pick(p.D),
    C: pick(p.C),
    loss: pick(p.loss)!,
    run: p.run === null ? null : Array.from(idx, (i) => p.run![i]!),
    lines: Array.from(idx, (i) => p.lines[i]!),
    notes: [...p.notes],
  };
}

/**
 * Drop the k points with the highest loss, as Epoch AI does: keep losses strictly below the k-th
 * highest value (ties at that value are dropped too).
 */
export function dropHighestLoss(p: Points, k: number): Points {
  if (!(Number.isInteger(k) && k >= 0)) throw new ScalingInputError(`--drop-highest-loss must be a non-negative integer, got ${k}`);
  if (k === 0) return p;
  if (k >= p.loss.length) throw new ScalingInputError(`${p.source}: --drop-highest-loss ${k} would drop all ${p.loss.length} points`);
  const sorted = Array.from(p.loss).sort((a, b) => a - b);
  const cut = sorted[sorted.length - k]!;
  const keep: number[] = [];
  for (let i = 0; i < p.loss.length; i++) if (p.loss[i]! < cut) keep.push(i);
  const out = subset(p, keep);
  out.notes.push(`dropped the ${p.loss.length - keep.length} highest-loss point(s) (loss >= ${cut.toPrecision(6)})`);
  return out;
}

/** Number of points. */
export function count(p: Points): number {
  return p.loss.length;
}
