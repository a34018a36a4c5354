import {
  type CaptureEvent,
  captureEventSchema,
  describeTelegram,
  MalformedBodyError,
  parseTelegramUpdate,
  type TelegramMessage,
  type TelegramUpdate,
  telegramCapture,
  telegramPhone,
  verifyTelegramSecretToken,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIngestApp } from '../../../functions/ingest/app';
import { loadEvent } from '../../support/events';
import { demoConfig, FakeSubmissionStore, sequentialIds } from '../support';

const TOKEN = 'test-telegram_secret-Token1';
const NOW = new Date('2025-06-08T21:00:00.000Z');
const KOREA = { teamId: 'sales', language: 'en', defaultRegion: 'KR' } as const;
const context = () => ({ newId: sequentialIds('sub'), receivedAt: NOW });
const sample = (name: string) => loadEvent<TelegramUpdate>(`telegram/${name}.json`);
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('X-Telegram-Bot-Api-Secret-Token verification', () => {
  it('accepts the exact token and rejects anything else', () => {
    expect(verifyTelegramSecretToken(TOKEN, TOKEN)).toBe(true);
    expect(verifyTelegramSecretToken(undefined, TOKEN)).toBe(false);
    expect(verifyTelegramSecretToken(null, TOKEN)).toBe(false);
    expect(verifyTelegramSecretToken('', TOKEN)).toBe(false);
    expect(verifyTelegramSecretToken(TOKEN.toLowerCase(), TOKEN)).toBe(false);
    expect(verifyTelegramSecretToken(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(verifyTelegramSecretToken(TOKEN.slice(1), TOKEN)).toBe(false);
  });

  it('accepts every allowed token and refuses any one-character change', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,256}$/);
    fc.assert(
      fc.property(token, fc.nat(), (secret, at) => {
        expect(verifyTelegramSecretToken(secret, secret)).toBe(true);
        const index = at % secret.length;
        const other = secret[index] === 'a' ? 'b' : 'a';
        const changed = `${secret.slice(0, index)}${other}${secret.slice(index + 1)}`;
        expect(verifyTelegramSecretToken(changed, secret)).toBe(false);
      }),
    );
  });
});

describe('parsing and mapping Telegram updates', () => {
  it('reads both samples as Updates', () => {
    expect(parseTelegramUpdate(bytes(sample('message'))).update_id).toBe(727311841);
    expect(parseTelegramUpdate(bytes(sample('contact-shared'))).message?.contact?.phone_number).toBe(
      '821098765432',
    );
  });

  it('maps a text message to a capture keyed by update_id', () => {
    const capture = telegramCapture(sample('message'), KOREA, context());
    expect(capture).toEqual({
      version: 1,
      submissionId: 'sub-1',
      channel: 'telegram',
      sourceId: 'bot',
      teamId: 'sales',
      receivedAt: NOW.toISOString(),
      language: 'en',
      contact: { name: 'Minsu Kim' },
      message: 'Hello, can I book a demo next week?',
      consent: false,
      urgent: false,
      answers: {},
      source: { utm: {} },
      externalId: '727311841',
      handles: { telegram: '5123456789' },
      verified: ['telegram:5123456789'],
      conversationId: 'telegram:5123456789',
    });
    expect(captureEventSchema.safeParse(capture).success).toBe(true);
  });

  it('takes the phone from the sender’s own shared contact, normalized to E.164', () => {
    const capture = telegramCapture(sample('contact-shared'), KOREA, context());
    expect(capture?.contact).toEqual({ name: 'Minsu Kim', phone: '+821098765432' });
    expect(capture?.message).toBe('[contact: Minsu Kim 821098765432]');
    expect(capture?.externalId).toBe('727311842');
    expect(captureEventSchema.safeParse(capture).success).toBe(true);
  });

  it('does not give the sender the phone of somebody else’s contact card', () => {
    const update = sample('contact-shared');
    if (!update.message?.contact) throw new Error('sample has no contact');
    update.message.contact.user_id = 42;
    expect(telegramCapture(update, KOREA, context())?.contact).toEqual({ name: 'Minsu Kim' });
    delete update.message.contact.user_id;
    expect(telegramCapture(update, KOREA, context())?.contact.phone).toBeUndefined();
  });

  it('reads shared numbers with or without +, nationally or internationally', () => {
    expect(telegramPhone('821098765432', KOREA)).toBe('+821098765432');
    expect(telegramPhone('+821098765432', KOREA)).toBe('+821098765432');
    expect(telegramPhone('010-9876-5432', KOREA)).toBe('+821098765432');
    expect(telegramPhone('66812345678', KOREA)).toBe('+66812345678');
    expect(telegramPhone('12', KOREA)).toBeUndefined();
  });

  it('returns nothing for updates that are not a person’s message', () => {
    const fromBot = sample('message');
    if (!fromBot.message?.from) throw new Error('sample has no sender');
    fromBot.message.from.is_bot = true;
    expect(telegramCapture(fromBot, KOREA, context())).toBeUndefined();

    const edited = parseTelegramUpdate(bytes({ update_id: 9, edited_message: sample('message').message }));
    expect(telegramCapture(edited, KOREA, context())).toBeUndefined();
    const callback = parseTelegramUpdate(bytes({ update_id: 10, callback_query: { id: '1', data: 'x' } }));
    expect(telegramCapture(callback, KOREA, context())).toBeUndefined();
    const channelPost = sample('message');
    delete channelPost.message?.from;
    expect(telegramCapture(channelPost, KOREA, context())).toBeUndefined();
  });

  it('refuses a body that is not an Update', () => {
    expect(() => parseTelegramUpdate(new TextEncoder().encode('{'))).toThrow(MalformedBodyError);
    expect(() => parseTelegramUpdate(bytes({ message: {} }))).toThrow(MalformedBodyError);
    expect(() => parseTelegramUpdate(bytes({ update_id: 'x' }))).toThrow(MalformedBodyError);
  });

  it('describes media, locations and stickers', () => {
    const base: TelegramMessage = { message_id: 1, chat: { id: 1, type: 'private' }, date: 1 };
    expect(describeTelegram({ ...base, photo: [{}], caption: 'this model' })).toBe('[photo] this model');
    expect(describeTelegram({ ...base, document: { file_name: 'brief.pdf' } })).toBe('[document: brief.pdf]');
    expect(describeTelegram({ ...base, voice: {} })).toBe('[voice message]');
    expect(describeTelegram({ ...base, sticker: { emoji: '👍' } })).toBe('[sticker 👍]');
    expect(describeTelegram({ ...base, location: { latitude: 37.5, longitude: 127 } })).toBe(
      '[location: 37.5,127]',
    );
    expect(describeTelegram(base)).toBe('[message]');
  });
});

/** `null` configures no secret token: the channel is off. */
function harness(telegramSecretToken: string | null = TOKEN) {
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
    secrets: { generic: {}, ...(telegramSecretToken ? { telegramSecretToken } : {}) },
  });
  /** `null` sends no secret header at all. */
  const deliver = (update: unknown, token: string | null = TOKEN) =>
    app.request('/v1/webhooks/telegram', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { 'x-telegram-bot-api-secret-token': token }),
      },
      body: JSON.stringify(update),
    });
  return { store, queued, deliver };
}

describe('the Telegram webhook route', () => {
  it('stores the message before answering 200 {}, and a retried update_id adds nothing', async () => {
    const { deliver, store, queued } = harness();
    const response = await deliver(sample('message'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(store.size).toBe(1);
    expect(queued[0]?.handles).toEqual({ telegram: '5123456789' });
    expect((await deliver(sample('message'))).status).toBe(200);
    expect(store.size).toBe(1);
    expect(store.calls[1]?.result?.replay).toBe(true);
  });

  it('refuses a wrong or missing secret token with 403 and stores nothing', async () => {
    const { deliver, store, queued } = harness();
    for (const token of [null, '', 'wrong', `${TOKEN}x`, TOKEN.toUpperCase()]) {
      const response = await deliver(sample('message'), token);
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden' });
    }
    expect(store.calls).toHaveLength(0);
    expect(queued).toHaveLength(0);
  });

  it('acknowledges updates that are not leads with 200 and stores nothing', async () => {
    const { deliver, store } = harness();
    const response = await deliver({ update_id: 5, my_chat_member: { chat: { id: 1 } } });
    expect(response.status).toBe(200);
    expect(store.calls).toHaveLength(0);
  });

  it('answers 404 when no secret token is configured', async () => {
    const { deliver } = harness(null);
    expect((await deliver(sample('message'))).status).toBe(404);
  });
});
