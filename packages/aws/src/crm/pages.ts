import { ValidationError } from '@leadflow/core';
import { z } from 'zod';

/** A page of a listing: its items and the cursor of the next page (absent on the last). */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string | undefined;
}

/** An opaque cursor: the position a listing resumes after, as base64url JSON. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** Reads a cursor this API handed out; anything else is a 422 on the `cursor` field. */
export function decodeCursor<T extends z.ZodType>(
  cursor: string | undefined,
  schema: T,
): z.infer<T> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // falls through to the field error
  }
  throw new ValidationError('The cursor is not one this API handed out.', [
    { field: 'cursor', code: 'invalid_cursor', message: 'pass back nextCursor exactly as it was returned' },
  ]);
}

/** Page sizes: `limit` defaults to 25 and is at most 100. */
export const limitSchema = z.coerce.number().int().min(1).max(100).default(25);
