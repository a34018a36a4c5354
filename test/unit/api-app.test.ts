import type { DataContext } from '@leadflow/aws';
import { UnauthorizedError, type Viewer } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { createApiApp } from '../../functions/api/app';

/** The managers' app's edge, without a database: what is refused before any data is touched. */
const bob: Viewer = {
  userId: 'local|bob',
  username: 'bob',
  role: 'manager',
  managerId: 'bob',
  memberOf: ['sales'],
  leads: [],
};

const untouchable = new Proxy({} as DataContext, {
  get: (_target, name) => {
    throw new Error(
      `the data context was touched (${String(name)}) for a request that should be refused first`,
    );
  },
});

const app = createApiApp({
  data: untouchable,
  authenticate: async (header) => {
    if (header !== 'Bearer good') throw new UnauthorizedError('A bearer token is required.');
    return bob;
  },
});

const patch = (body: string, headers: Record<string, string> = {}) =>
  app.request('/v1/leads/01ABC', {
    method: 'PATCH',
    headers: { authorization: 'Bearer good', 'content-type': 'application/json', ...headers },
    body,
  });

describe("the managers' API edge", () => {
  it('answers 401 with a Bearer challenge before reading anything', async () => {
    const response = await app.request('/v1/leads/01ABC', { method: 'PATCH', body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await response.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('answers 400 to a body that is not JSON', async () => {
    const response = await patch('{"status": ');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'malformed_body' });
  });

  it('answers 422 naming every offending field', async () => {
    const response = await patch(JSON.stringify({ status: 'sold', amount: -5, extra: 1 }));
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: string; fields: { field: string }[] };
    expect(body.error).toBe('validation_failed');
    expect(body.fields.map((f) => f.field)).toEqual(expect.arrayContaining(['status', 'amount']));
  });

  it('answers 413 to an oversized body', async () => {
    const response = await patch(JSON.stringify({ status: 'lost', reason: 'x'.repeat(300 * 1024) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'payload_too_large' });
  });

  it('refuses a malformed cursor and an out-of-range limit as field errors', async () => {
    const response = await app.request('/v1/leads?limit=1000&sort=random', {
      headers: { authorization: 'Bearer good' },
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { fields: { field: string }[] };
    expect(body.fields.map((f) => f.field).sort()).toEqual(['limit', 'sort']);
  });
});
