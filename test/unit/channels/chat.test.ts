import {
  type CaptureEvent,
  type ChatWidget,
  captureEventSchema,
  chatCapture,
  MalformedBodyError,
  PayloadTooLargeError,
  parseChatBody,
  UnsupportedMediaTypeError,
  ValidationError,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIngestApp } from '../../../functions/ingest/app';
import { loadEvent } from '../../support/events';
import { demoConfig, FakeSubmissionStore, sequentialIds } from '../support';

const NOW = new Date('2025-06-08T21:00:00.000Z');
const URL_PATH = '/v1/chat/site-chat';
type ChatBody = Record<string, unknown>;

const widget = (): ChatWidget => {
  const found = demoConfig().channels.chatWidgets.find((candidate) => candidate.id === 'site-chat');
  if (!found) throw new Error('The demo config has no chat widget site-chat');
  return found;
};
const context = () => ({ newId: sequentialIds('sub'), receivedAt: NOW });
const sample = () => loadEvent<ChatBody>('chat/message.json');
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function fieldsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.fields.map((issue) => issue.field).sort();
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('reading a chat widget body', () => {
  it('accepts UTF-8 JSON objects only', () => {
    expect(parseChatBody('application/json', bytes(sample()))).toEqual(sample());
    expect(parseChatBody('application/json; charset=UTF-8', bytes({ a: 1 }))).toEqual({ a: 1 });
    expect(() => parseChatBody('text/plain', bytes(sample()))).toThrow(UnsupportedMediaTypeError);
    expect(() => parseChatBody('application/x-www-form-urlencoded', bytes({}))).toThrow(
      UnsupportedMediaTypeError,
    );
    expect(() => parseChatBody(undefined, bytes({}))).toThrow(UnsupportedMediaTypeError);
    expect(() => parseChatBody('application/json; charset=iso-8859-1', bytes({}))).toThrow(
      UnsupportedMediaTypeError,
    );
    expect(() => parseChatBody('application/json', new Uint8Array(64 * 1024 + 1))).toThrow(
      PayloadTooLargeError,
    );
    expect(() => parseChatBody('application/json', new TextEncoder().encode('{"text":'))).toThrow(
      MalformedBodyError,
    );
    expect(() => parseChatBody('application/json', bytes(['a']))).toThrow(MalformedBodyError);
  });
});

describe('mapping a chat message to a capture', () => {
  it('normalizes the sample into a capture with the visitor handle and the session thread', () => {
    const { capture, clientKeyed, contentHash } = chatCapture(widget(), sample(), {
      ...context(),
      origin: 'https://www.example.com',
    });
    expect(clientKeyed).toBe(true);
    expect(contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(capture).toEqual({
      version: 1,
      submissionId: 'sub-1',
      channel: 'chat',
      sourceId: 'site-chat',
      teamId: 'sales',
      receivedAt: NOW.toISOString(),
      language: 'en',
      contact: {
        name: 'Lee Jiwoo',
        email: 'Jiwoo.Lee@example.com',
        emailKey: 'jiwoo.lee@example.com',
        phone: '+821023456789',
      },
      message: 'Hi, do you offer a free trial for teams of 10?',
      consent: false,
      urgent: false,
      answers: {},
      source: {
        utm: { utm_source: 'google', utm_medium: 'cpc' },
        pageUrl: 'https://www.example.com/pricing?utm_source=google&utm_medium=cpc',
        origin: 'https://www.example.com/',
      },
      externalId: 'site-chat:v_8f3c2a91d4e64b7f:m_01JZ7Q3X5Y8K2N4P',
      handles: { chat: 'v_8f3c2a91d4e64b7f' },
      conversationId: 'chat:site-chat:s_2b7e151628aed2a6',
    });
    expect(captureEventSchema.safeParse(capture).success).toBe(true);
  });

  it('needs only the ids and a text; blank optional fields are left out', () => {
    const { capture, clientKeyed } = chatCapture(
      widget(),
      { visitorId: 'visitor-0001', sessionId: 'session-0001', text: '  hello\r\n  ', name: '', email: null },
      context(),
    );
    expect(clientKeyed).toBe(false);
    expect(capture.contact).toEqual({});
    expect(capture.message).toBe('hello');
    expect(capture.externalId).toMatch(/^site-chat:visitor-0001:session-0001:[0-9a-f]{32}$/);
  });

  it('keys a message without messageId by its content, so only the same text in the same session repeats', () => {
    const key = (body: ChatBody) => chatCapture(widget(), body, context()).capture.externalId;
    const base = { visitorId: 'visitor-0001', sessionId: 'session-0001', text: 'hello' };
    expect(key(base)).toBe(key({ ...base, text: ' hello ' }));
    expect(key(base)).not.toBe(key({ ...base, text: 'hello!' }));
    expect(key(base)).not.toBe(key({ ...base, sessionId: 'session-0002' }));
    expect(key(base)).not.toBe(key({ ...base, visitorId: 'visitor-0002' }));
  });

  it('keeps the extension of the phone apart from the number', () => {
    const { capture } = chatCapture(widget(), { ...sample(), phone: '02-123-4567 ext. 89' }, context());
    expect(capture.contact).toMatchObject({ phone: '+8221234567', phoneExtension: '89' });
    expect(captureEventSchema.safeParse(capture).success).toBe(true);
  });

  it('names every invalid field', () => {
    expect(fieldsOf(() => chatCapture(widget(), {}, context()))).toEqual(['sessionId', 'text', 'visitorId']);
    expect(
      fieldsOf(() =>
        chatCapture(
          widget(),
          { visitorId: 'short', sessionId: 'has space in it', messageId: 'x'.repeat(129), text: ' \n ' },
          context(),
        ),
      ),
    ).toEqual(['messageId', 'sessionId', 'text', 'visitorId']);
    expect(fieldsOf(() => chatCapture(widget(), { ...sample(), text: 'x'.repeat(4001) }, context()))).toEqual(
      ['text'],
    );
    expect(
      fieldsOf(() =>
        chatCapture(widget(), { ...sample(), email: 'not-an-email', phone: '12', name: '!!' }, context()),
      ),
    ).toEqual(['email', 'name', 'phone']);
    expect(fieldsOf(() => chatCapture(widget(), { ...sample(), text: 42 }, context()))).toEqual(['text']);
  });

  it('accepts every id of 8-128 allowed characters and refuses any other', () => {
    const allowed = fc.stringMatching(/^[A-Za-z0-9_-]{8,128}$/);
    const refused = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_-]{0,7}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{129,140}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{4}[^A-Za-z0-9_-][A-Za-z0-9_-]{4}$/),
    );
    fc.assert(
      fc.property(allowed, refused, (good, bad) => {
        const body = { ...sample(), visitorId: good };
        expect(chatCapture(widget(), body, context()).capture.handles).toEqual({ chat: good });
        expect(fieldsOf(() => chatCapture(widget(), { ...body, visitorId: bad }, context()))).toEqual([
          'visitorId',
        ]);
      }),
    );
  });
});

function harness() {
  const store = new FakeSubmissionStore();
  const queued: CaptureEvent[] = [];
  const app = createIngestApp({
    config: demoConfig(),
    store: store.store,
    enqueue: async (capture) => {
      queued.push(capture);
    },
    countSpam: async () => undefined,
    newId: sequentialIds('sub'),
    clock: () => NOW,
  });
  const post = (body: unknown, headers: Record<string, string> = {}, path = URL_PATH) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { app, store, queued, post };
}

describe('the chat widget route', () => {
  it('answers 202 with the id after storing, and the same messageId again returns the same id', async () => {
    const { post, store, queued } = harness();
    const first = await post(sample(), { origin: 'https://www.example.com' });
    expect(first.status).toBe(202);
    expect(first.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(await first.json()).toEqual({ id: 'sub-1', status: 'accepted' });
    expect(queued[0]?.conversationId).toBe('chat:site-chat:s_2b7e151628aed2a6');
    const retry = await post(sample());
    expect(await retry.json()).toEqual({ id: 'sub-1', status: 'accepted' });
    expect(store.size).toBe(1);
    const reused = await post({ ...sample(), text: 'something else' });
    expect(reused.status).toBe(422);
    expect(store.size).toBe(1);
  });

  it('treats the same text without a messageId as one message within a minute, and a new one after', async () => {
    const { post, store } = harness();
    const body = { ...sample(), messageId: undefined };
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push(((await (await post(body)).json()) as { id: string }).id);
    expect(ids).toEqual(['sub-1', 'sub-1']);
    store.now += 61_000;
    expect(((await (await post(body)).json()) as { id: string }).id).toBe('sub-3');
    expect(store.calls.map((call) => call.windowSeconds)).toEqual([60, 60, 60]);
  });

  it('answers each bad request with its status and stores nothing', async () => {
    const { post, store } = harness();
    expect((await post(sample(), {}, '/v1/chat/no-such-widget')).status).toBe(404);
    const invalid = await post({ visitorId: 'x', text: '' });
    expect(invalid.status).toBe(422);
    const body = (await invalid.json()) as { error: string; fields: { field: string }[] };
    expect(body.error).toBe('validation_failed');
    expect(body.fields.map((field) => field.field).sort()).toEqual(['sessionId', 'text', 'visitorId']);
    expect((await post({ ...sample(), text: 'x'.repeat(70 * 1024) })).status).toBe(413);
    expect((await post('text=hi', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post('{"text":')).status).toBe(400);
    expect(store.calls).toHaveLength(0);
  });

  it('answers the CORS preflight for the widget’s allowed origins only', async () => {
    const { app } = harness();
    const preflight = (origin: string) =>
      app.request(URL_PATH, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('https://www.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});
