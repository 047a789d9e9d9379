/**
 * A strict JSON parser for untrusted input (safetensors headers, checkpoint index files, HF configs).
 *
 * Why not JSON.parse: it silently keeps the last of two duplicate keys, turns integers above 2^53 into
 * nearby doubles, and recursion depth is the engine's business. This parser
 * - rejects duplicate keys in any object (the error names the key and its path),
 * - keeps every number's literal text (`JsonNumber.raw`) so callers can insist on exact integers,
 * - bounds nesting depth (default 64), so hostile input cannot overflow the stack,
 * - runs in time linear in the input and allocates O(input) memory,
 * - builds objects as `Map`s (no prototype: a key named `__proto__` is just a key).
 * Grammar is RFC 8259 exactly (no comments, no trailing commas, no NaN, whitespace = space/tab/CR/LF).
 */

/** A JSON number with its literal text kept (e.g. "18446744073709551616" or "1e3"). */
export class JsonNumber {
  constructor(readonly raw: string) {}
  /** The nearest double (what JSON.parse would give). */
  get value(): number {
    return Number(this.raw);
  }
  /** The value if the literal is a plain non-negative decimal integer (no sign, fraction or exponent) ≤ 2^53 − 1, else null. */
  safeNonNegativeInteger(): number | null {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(this.raw)) return null;
    const v = Number(this.raw);
    return Number.isSafeInteger(v) ? v : null;
  }
}

/** Parsed JSON tree: objects are Maps (insertion order kept), numbers are JsonNumber. */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

export type JsonErrorCode = 'syntax' | 'duplicate_key' | 'too_deep';

/** A JSON syntax error, duplicate key or excess nesting, with the character position where it was found. */
export class JsonParseError extends Error {
  override readonly name = 'JsonParseError';
  constructor(
    message: string,
    readonly code: JsonErrorCode,
    /** index into the parsed string */
    readonly position: number,
    /** for duplicate_key: the object keys leading to the object holding the duplicate; [] for the top level */
    readonly path: readonly string[] = [],
    /** for duplicate_key: the duplicated key */
    readonly key?: string,
  ) {
    super(message);
  }
}

export interface JsonParseOptions {
  /** maximum nesting of arrays/objects (default 64) */
  maxDepth?: number;
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Parse `text` strictly into a JsonValue tree. Throws JsonParseError. */
export function parseJsonTree(text: string, options: JsonParseOptions = {}): JsonValue {
  const maxDepth = options.maxDepth ?? 64;
  let i = 0;
  const n = text.length;
  const path: string[] = [];

  const fail = (msg: string, at = i): never => {
    throw new JsonParseError(`JSON ${msg} at position ${at}`, 'syntax', at);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const str = (): string => {
    // text[i] === '"'
    const start = i;
    i++;
    let escaped = false;
    for (;;) {
      if (i >= n) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        escaped = true;
        const e = text.charCodeAt(i + 1);
        if (e === 0x75) {
          // \uXXXX
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
          continue;
        }
        if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
          continue;
        }
        fail('bad escape');
      }
      i++;
    }
    i++; // closing quote
    const raw = text.slice(start, i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const value = (depth: number): JsonValue => {
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      if (depth >= maxDepth) throw new JsonParseError(`JSON nested deeper than ${maxDepth} at position ${i}`, 'too_deep', i);
      i++;
      const obj = new Map<string, JsonValue>();
      ws();
      if (text.charCodeAt(i) === 0x7d) {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 0x22) fail('expected a string key');
        const keyAt = i;
        const key = str();
        ws();
        if (text.charCodeAt(i) !== 0x3a) fail("expected ':'");
        i++;
        if (obj.has(key)) {
          const where = path.length ? ` in ${path.map((p) => JSON.stringify(p)).join(' > ')}` : ' at the top level';
          throw new JsonParseError(`duplicate JSON key ${JSON.stringify(key)}${where} (position ${keyAt})`, 'duplicate_key', keyAt, [...path], key);
        }
        path.push(key);
        obj.set(key, value(depth + 1));
        path.pop();
        ws();
        const d = text.charCodeAt(i);
        if (d === 0x2c) {
          i++;
          continue;
        }
        if (d === 0x7d) {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === 0x5b /* [ */) {
      if (depth >= maxDepth) throw new JsonParseError(`JSON nested deeper than ${maxDepth} at position ${i}`, 'too_deep', i);
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text.charCodeAt(i) === 0x5d) {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text.charCodeAt(i);
        if (d === 0x2c) {
          i++;
          continue;
        }
        if (d === 0x5d) {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === 0x22) return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER_RE.lastIndex = i;
    const m = NUMBER_RE.exec(text);
    if (m && m[0].length > 0) {
      i += m[0].length;
      return new JsonNumber(m[0]);
    }
    return fail('unexpected character ' + JSON.stringify(text[i]));
  };

  const v = value(0);
  ws();
  if (i !== n) fail('unexpected trailing characters');
  return v;
}

/** Convert a JsonValue tree to plain JS values (objects with a null prototype, numbers as doubles). */
export function jsonToPlain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return v.value;
  if (Array.isArray(v)) return v.map(jsonToPlain);
  if (v instanceof Map) {
    const o: Record<string, unknown> = Object.create(null);
    for (const [k, x] of v) o[k] = jsonToPlain(x);
    return o;
  }
  return v;
}

/** JSON.parse, but rejecting duplicate keys and nesting deeper than maxDepth. Objects have a null prototype. */
export function parseJsonStrict(text: string, options: JsonParseOptions = {}): unknown {
  return jsonToPlain(parseJsonTree(text, options));
}

/** Human-readable kind of a JsonValue, for error messages. */
export function jsonKind(v: JsonValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return `number ${v.raw.length > 24 ? v.raw.slice(0, 24) + '…' : v.raw}`;
  if (Array.isArray(v)) return 'array';
  if (v instanceof Map) return 'object';
  return typeof v;
}
