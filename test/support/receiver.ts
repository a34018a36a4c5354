import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

/** An answer the receiver gives: a status, its headers and body. */
export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * A local HTTP endpoint standing in for Slack, Teams and a webhook subscriber (node:http on a free loopback
 * port): it records every request, and answers each path from its script (first answers first), then with the
 * path's default (200 `ok` unless set).
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  readonly #scripts = new Map<string, ScriptedAnswer[]>();
  readonly #defaults = new Map<string, ScriptedAnswer>();
  #server: Server | undefined;
  #url = '';

  /** The receiver's base URL (`http://127.0.0.1:<port>`). */
  get url(): string {
    return this.#url;
  }

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        this.requests.push({
          path,
          method: request.method ?? 'GET',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        const answer = this.#scripts.get(path)?.shift() ??
          this.#defaults.get(path) ?? { status: 200, body: 'ok' };
        response.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        response.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answers the next requests to `path` with these, in order. */
  script(path: string, ...answers: ScriptedAnswer[]): this {
    this.#scripts.set(path, [...(this.#scripts.get(path) ?? []), ...answers]);
    return this;
  }

  /** Answers every request to `path` with this once its script is used up. */
  answer(path: string, answer: ScriptedAnswer): this {
    this.#defaults.set(path, answer);
    return this;
  }

  /** The requests to one path, in order of arrival. */
  to(path: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
