import type { z } from 'zod';
import {
  type FieldIssue,
  MalformedBodyError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors';

/** Flat field name → value map, as a form posts it. */
export type FieldMap = Record<string, string>;

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_FIELDS = 100;

export type BodyKind = 'json' | 'urlencoded' | 'multipart';

/** Which parser a Content-Type selects; anything else is a 415. */
export function bodyKind(contentType: string | undefined): BodyKind {
  const [essence = '', ...params] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = params
    .find((param) => param.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError(`Only UTF-8 bodies are accepted, not ${charset}.`);
  }
  if (essence === 'application/json' || essence.endsWith('+json')) return 'json';
  if (essence === 'application/x-www-form-urlencoded') return 'urlencoded';
  if (essence === 'multipart/form-data') return 'multipart';
  throw new UnsupportedMediaTypeError(
    `Content-Type ${essence || '(none)'} is not accepted; send application/json, application/x-www-form-urlencoded or multipart/form-data.`,
  );
}

/**
 * Parses a form body into a flat field map. Repeated fields (checkbox groups) are joined with ", ".
 * Throws typed errors for oversize, unsupported or malformed bodies.
 */
export async function parseFormBody(contentType: string | undefined, body: Uint8Array): Promise<FieldMap> {
  const kind = bodyKind(contentType);
  if (body.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`The body is ${body.byteLength} bytes; the limit is ${MAX_BODY_BYTES}.`);
  }
  // Multipart parts are decoded one by one: a binary file part must get its own field error.
  if (kind === 'multipart') return parseMultipart(contentType ?? '', body);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch (cause) {
    throw new MalformedBodyError('The body is not valid UTF-8.', [], { cause });
  }
  return kind === 'json' ? parseJson(text) : collect(new URLSearchParams(text).entries());
}

function parseJson(text: string): FieldMap {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new MalformedBodyError('The body is not valid JSON.', [], { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedBodyError('The JSON body must be an object of field names to values.');
  }
  const entries: [string, string][] = [];
  const problems = [];
  for (const [name, field] of Object.entries(value)) {
    if (typeof field === 'string') entries.push([name, field]);
    else if (typeof field === 'number' || typeof field === 'boolean') entries.push([name, String(field)]);
    else if (field === null) continue;
    else if (Array.isArray(field) && field.every((item) => typeof item === 'string')) {
      for (const item of field) entries.push([name, item]);
    } else
      problems.push({
        field: name,
        code: 'invalid_type',
        message: 'Must be a string, number, boolean or list of strings.',
      });
  }
  if (problems.length > 0) throw new ValidationError('Some fields have values of the wrong type.', problems);
  return collect(entries);
}

async function parseMultipart(contentType: string, body: Uint8Array): Promise<FieldMap> {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (cause) {
    throw new MalformedBodyError('The multipart body could not be parsed.', [], { cause });
  }
  const entries: [string, string][] = [];
  const problems = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') entries.push([name, value]);
    else problems.push({ field: name, code: 'file_not_accepted', message: 'File uploads are not accepted.' });
  }
  if (problems.length > 0) throw new ValidationError('Files cannot be submitted to this form.', problems);
  return collect(entries);
}

function collect(entries: Iterable<[string, string]>): FieldMap {
  const fields: Record<string, string[]> = Object.create(null);
  let count = 0;
  for (const [name, value] of entries) {
    if (++count > MAX_FIELDS) throw new PayloadTooLargeError(`A form may send at most ${MAX_FIELDS} values.`);
    const values = fields[name];
    if (values) values.push(value);
    else fields[name] = [value];
  }
  const map: FieldMap = Object.create(null);
  for (const [name, values] of Object.entries(fields)) map[name] = values.join(', ');
  return map;
}

/** Decodes a UTF-8 JSON body; MalformedBodyError (400) for bytes that are not. */
export function decodeJson(raw: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (cause) {
    throw new MalformedBodyError('The body is not valid UTF-8 JSON.', [], { cause });
  }
}

/** zod issues as the field errors API clients get. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || 'body',
    code: issue.code,
    message: issue.message,
  }));
}

/**
 * Decodes and validates a JSON webhook body. A schema failure becomes `invalid(message, issues)`:
 * 400 for a provider envelope we do not recognise, 422 for a documented body with bad fields.
 */
export function parseJsonBody<T>(
  raw: Uint8Array,
  schema: z.ZodType<T>,
  message: string,
  invalid: typeof MalformedBodyError | typeof ValidationError = MalformedBodyError,
): T {
  const parsed = schema.safeParse(decodeJson(raw));
  if (parsed.success) return parsed.data;
  throw new invalid(message, fieldIssues(parsed.error), { cause: parsed.error });
}
