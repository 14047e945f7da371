/**
 * Discord's error answers: `{ message, code }`, and for a request that fails validation 400 with
 * code 50035 and an `errors` tree that mirrors the request, each failing field holding
 * `_errors: [{ code, message }]` (array indices are keys: `embeds.0.title`).
 * https://discord.com/developers/docs/reference#error-messages
 */
import type { ZodMiniType } from 'zod/mini';

export interface FieldError {
  code: string;
  message: string;
}
/** `{ field: { _errors: [...] }, list: { '0': { field: { _errors } } } }`; `_errors` at the root for the whole body */
export type ErrorTree = { _errors?: FieldError[] } & { [key: string]: ErrorTree | FieldError[] | undefined };

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: ErrorTree,
  ) {
    super(message);
  }

  get body(): { message: string; code: number; errors?: ErrorTree } {
    return this.errors ? { message: this.message, code: this.code, errors: this.errors } : { message: this.message, code: this.code };
  }
}

export const invalidFormBody = (errors: ErrorTree) => new HttpError(400, 50035, 'Invalid Form Body', errors);

/** One failing field: its path in the request and Discord's code for it. */
export interface FieldIssue {
  path: Array<string | number>;
  error: FieldError;
}

/** A zod issue, as much of it as is read here. */
interface Issue {
  code: string;
  path: PropertyKey[];
  expected?: string;
  values?: unknown[];
  origin?: string;
  format?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  errors?: Issue[][];
}

/** The field issues of `value` against `schema`, in Discord's terms; empty when it is valid. */
export function fieldIssues(schema: ZodMiniType, value: unknown): FieldIssue[] {
  const r = schema.safeParse(value);
  if (r.success) return [];
  return (r.error.issues as unknown as Issue[]).flatMap((i) => toDiscord(i, [], value));
}

/** The 50035 error for these issues (they must not be empty). */
export function formError(issues: FieldIssue[]): HttpError {
  const root: ErrorTree = {};
  for (const { path, error } of issues) {
    let node = root;
    for (const key of path) node = (node[String(key)] ??= {}) as ErrorTree;
    (node._errors ??= []).push(error);
  }
  return invalidFormBody(root);
}

const at = (value: unknown, path: PropertyKey[]): unknown => path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);

// JSON.stringify(undefined) is undefined, not a string
const shown = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? 'undefined' : JSON.stringify(v));

/** A discriminator failure: the branch of a union was not meant for this value. */
const isDiscriminator = (i: Issue) => i.code === 'invalid_value' && i.path.length === 1 && i.path[0] === 'type';

function toDiscord(i: Issue, base: PropertyKey[], root: unknown): FieldIssue[] {
  const path = [...base, ...i.path];
  const input = at(root, path);
  const issue = (code: string, message: string): FieldIssue[] => [{ path: path.map((k) => (typeof k === 'number' ? k : String(k))), error: { code, message } }];
  switch (i.code) {
    case 'invalid_union': {
      const branches = i.errors ?? [];
      // every branch refused the `type`: say which types exist
      if (branches.length > 0 && branches.every((b) => b.some(isDiscriminator))) {
        const values = [...new Set(branches.flatMap((b) => b.filter(isDiscriminator).flatMap((d) => d.values ?? [])))].sort((a, b) => Number(a) - Number(b));
        return toDiscord({ code: 'invalid_value', path: ['type'], values }, path, root);
      }
      // else the branch the value was meant for: no discriminator failure, fewest issues
      const best = [...branches].sort((a, b) => Number(a.some(isDiscriminator)) - Number(b.some(isDiscriminator)) || a.length - b.length)[0];
      if (!best || best.length === 0) return issue('UNION_TYPE_CHOICES', 'Value does not match any of the allowed types.');
      return best.flatMap((b) => toDiscord(b, path, root));
    }
    case 'invalid_type':
      if (input === undefined) return issue('BASE_TYPE_REQUIRED', 'This field is required');
      switch (i.expected) {
        case 'string':
          return issue('STRING_TYPE_CONVERT', `Could not interpret "${shown(input)}" as string.`);
        case 'number':
        case 'int':
          // Discord reads numeric strings as numbers ("8" for a permission bit field is fine)
          if (typeof input === 'string' && /^-?\d+(\.\d+)?$/.test(input)) return [];
          return issue('NUMBER_TYPE_COERCE', `Value "${shown(input)}" is not ${i.expected === 'int' ? 'int' : 'a number'}.`);
        case 'boolean':
          return issue('BOOLEAN_TYPE_CONVERT', `Could not interpret "${shown(input)}" as boolean.`);
        case 'array':
          return issue('LIST_TYPE_CONVERT', 'Only iterables may be used in a ListType');
        case 'record':
          return issue('DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
        case 'object':
          return issue('MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
        default:
          return issue('BASE_TYPE_INVALID', `Value "${shown(input)}" is not ${i.expected ?? 'valid'}.`);
      }
    case 'invalid_value':
      return issue('BASE_TYPE_CHOICES', `Value must be one of (${(i.values ?? []).map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}).`);
    case 'invalid_format':
      // the spec's one pattern on ids: SnowflakeType
      return issue('NUMBER_TYPE_COERCE', `Value "${shown(input)}" is not snowflake.`);
    case 'too_big':
      return i.origin === 'number' || i.origin === 'bigint' ? issue('NUMBER_TYPE_MAX', `int value should be less than or equal to ${String(i.maximum)}.`) : issue('BASE_TYPE_MAX_LENGTH', `Must be ${String(i.maximum)} or fewer in length.`);
    case 'too_small':
      return i.origin === 'number' || i.origin === 'bigint' ? issue('NUMBER_TYPE_MIN', `int value should be greater than or equal to ${String(i.minimum)}.`) : issue('BASE_TYPE_MIN_LENGTH', `Must be ${String(i.minimum)} or more in length.`);
    default:
      return issue('BASE_TYPE_INVALID', 'Invalid value.');
  }
}
