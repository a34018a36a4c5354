import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { platformClientAddress } from '../../functions/ingest/client-address';

/** An app that answers with the address the platform reported. */
function app() {
  const web = new Hono();
  web.get('/', (c) => c.text(platformClientAddress(c) ?? 'none'));
  return web;
}

describe('platformClientAddress', () => {
  it('takes API Gateway’s requestContext.http.sourceIp, never X-Forwarded-For', async () => {
    const env = { requestContext: { http: { sourceIp: '203.0.113.7' } } };
    const response = await app().request('/', { headers: { 'x-forwarded-for': '198.51.100.1' } }, env);
    expect(await response.text()).toBe('203.0.113.7');
  });

  it('takes the socket’s remote address locally (@hono/node-server), never X-Forwarded-For', async () => {
    const env = { incoming: { socket: { remoteAddress: '::ffff:127.0.0.1' } } };
    const response = await app().request('/', { headers: { 'x-forwarded-for': '198.51.100.1' } }, env);
    expect(await response.text()).toBe('::ffff:127.0.0.1');
  });

  it('has no address when the platform gave none, whatever the headers say', async () => {
    const response = await app().request('/', {
      headers: {
        'x-forwarded-for': '198.51.100.1',
        'x-real-ip': '198.51.100.2',
        forwarded: 'for=198.51.100.3',
      },
    });
    expect(await response.text()).toBe('none');
  });
});
