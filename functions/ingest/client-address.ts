import type { Context } from 'hono';

/** What the platform tells us about the connection; never a header the client could have written. */
interface PlatformBindings {
  /** hono's Lambda adapter: API Gateway HTTP API's request context. */
  readonly requestContext?: { readonly http?: { readonly sourceIp?: string } };
  /** @hono/node-server (`npm start`): the socket the request came in on. */
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } };
}

/**
 * The client's address: API Gateway's `requestContext.http.sourceIp` on AWS (API Gateway sets it from
 * the TCP connection), the socket's remote address locally. `X-Forwarded-For` is deliberately never
 * read: anyone can send it, and hono's own helper falls back to it.
 */
export function platformClientAddress(c: Context): string | undefined {
  const bindings = c.env as PlatformBindings | undefined;
  return bindings?.requestContext?.http?.sourceIp ?? bindings?.incoming?.socket?.remoteAddress;
}
