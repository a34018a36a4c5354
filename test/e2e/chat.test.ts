import { createHmac, randomInt, randomUUID } from 'node:crypto';
import type { MetaWebhook, TelegramUpdate } from '@leadflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvent } from '../support/events';
import {
  eventually,
  MANAGER_EMAILS,
  type SentEmail,
  startTestSystem,
  type TestSystem,
} from '../support/system';

// The chat channels through the whole local system: signed webhooks in, DynamoDB items and manager
// alerts in the SES store out, and provider redeliveries that add nothing.
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const MANAGERS = MANAGER_EMAILS;
/** Long enough for a redelivery to have been routed and alerted, were it going to be. */
const SETTLE_MS = 1500;

const secret = (name: string) => {
  const value = system.env[name];
  if (!value) throw new Error(`The local system has no ${name}`);
  return value;
};
const signMeta = (body: string) =>
  `sha256=${createHmac('sha256', secret('META_APP_SECRET')).update(body).digest('hex')}`;
const postMeta = (body: string, signature = signMeta(body)) =>
  system.post('/v1/webhooks/meta', {
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
  });
const postTelegram = (body: string, token = secret('TELEGRAM_SECRET_TOKEN')) =>
  system.post('/v1/webhooks/telegram', {
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': token },
    body,
  });
const settle = () => new Promise((done) => setTimeout(done, SETTLE_MS));
const tag = () => randomUUID().slice(0, 8);

/** The contact an identity points at, with its interactions on one channel and the submissions stored. */
async function stateOf(identity: string, channel: string) {
  const items = await system.items();
  const contactId = items.find((item) => item.pk === `IDENT#${identity}`)?.contactId as string | undefined;
  return {
    contactId,
    items,
    interactions: items.filter(
      (item) => item.pk === `CONTACT#${contactId}` && item.type === 'interaction' && item.channel === channel,
    ),
  };
}

/** Manager alerts whose text mentions `marker` (a unique message text or name). */
async function alertsAbout(marker: string): Promise<SentEmail[]> {
  return (await system.emails()).filter(
    (email) =>
      email.destination.to.some((to) => MANAGERS.some((manager) => to.includes(manager))) &&
      `${email.subject}\n${email.body.text ?? ''}`.includes(marker),
  );
}

function submissionsOf(items: Record<string, unknown>[], channel: string, marker: string) {
  return items.filter(
    (item) =>
      item.type === 'submission' && item.channel === channel && JSON.stringify(item.capture).includes(marker),
  );
}

/** A WhatsApp delivery from one wa_id, built from a sample with fresh wamids and a unique name. */
function whatsApp(sample: string, waId: string, name: string): { body: string; wamids: string[] } {
  const delivery = loadEvent<MetaWebhook>(`meta/${sample}.json`);
  const wamids: string[] = [];
  for (const change of delivery.entry[0]?.changes ?? []) {
    const value = change.value as {
      contacts?: { wa_id: string; profile: { name: string } }[];
      messages?: { from: string; id: string }[];
    };
    for (const contact of value.contacts ?? []) Object.assign(contact, { wa_id: waId, profile: { name } });
    for (const message of value.messages ?? []) {
      message.from = waId;
      message.id = `wamid.${randomUUID().replace(/-/g, '')}`;
      wamids.push(message.id);
    }
  }
  return { body: JSON.stringify(delivery), wamids };
}

/** A Thai mobile number as WhatsApp writes it: 66 8X XXX XXXX. */
const thaiWaId = () => `6681${randomInt(1_000_000, 9_999_999)}`;

describe('Meta webhooks end to end', () => {
  it('answers the subscription handshake with the challenge, and 403 to a wrong token', async () => {
    const url = (token: string) =>
      `${system.urls.api}/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`;
    const ok = await fetch(url(secret('META_VERIFY_TOKEN')));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(url('not-the-token'));
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: string }).error).toBe('forbidden');
  });

  it('turns a batched WhatsApp delivery into one interaction per message and alerts a manager; a redelivery adds nothing', async () => {
    const waId = thaiWaId();
    const name = `Somchai ${tag()}`;
    const { body, wamids } = whatsApp('whatsapp-batched', waId, name);
    expect(wamids).toHaveLength(2);

    const response = await postMeta(body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('EVENT_RECEIVED');

    const first = await eventually(async () => {
      const state = await stateOf(`phone:+${waId}`, 'whatsapp');
      expect(state.interactions).toHaveLength(2);
      return state;
    });
    expect(first.items.find((item) => item.pk === `IDENT#whatsapp:+${waId}`)?.contactId).toBe(
      first.contactId,
    );
    expect(
      first.interactions.map((item) => item.summary as string).some((summary) => summary.includes('quote')),
    ).toBe(true);
    // The status in the same delivery is not a lead: exactly the two messages were stored.
    expect(submissionsOf(first.items, 'whatsapp', waId)).toHaveLength(2);
    const alerts = await eventually(async () => {
      const found = (await alertsAbout(name)).filter((email) => email.subject.includes(name));
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found;
    });
    await settle();
    const alertCount = (await alertsAbout(name)).length;
    expect(alertCount).toBeGreaterThanOrEqual(alerts.length);

    const again = await postMeta(body);
    expect(again.status).toBe(200);
    await settle();
    const later = await stateOf(`phone:+${waId}`, 'whatsapp');
    expect(later.interactions).toHaveLength(2);
    expect(submissionsOf(later.items, 'whatsapp', waId)).toHaveLength(2);
    expect(await alertsAbout(name)).toHaveLength(alertCount);
  });

  it('refuses a delivery with a bad signature with 403 and stores nothing', async () => {
    const waId = thaiWaId();
    const { body, wamids } = whatsApp('whatsapp-text', waId, `Forged ${tag()}`);
    const forged = await postMeta(body, signMeta(`${body} `));
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: string }).error).toBe('forbidden');
    const unsigned = await system.post('/v1/webhooks/meta', {
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(unsigned.status).toBe(403);
    await settle();
    const text = JSON.stringify(await system.items());
    expect(text).not.toContain(wamids[0]);
    expect(text).not.toContain(waId);
  });

  it('puts a WhatsApp message from a number a form already gave on the same contact', async () => {
    const name = `Somchai Form ${tag()}`;
    const form = await system.post('/v1/forms/demo-contact-th', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, phone: '081 234 5678', consent: true }),
    });
    expect(form.status).toBe(202);
    const byForm = await eventually(async () => {
      const state = await stateOf('phone:+66812345678', 'web_form');
      expect(state.interactions.length).toBeGreaterThanOrEqual(1);
      return state;
    });

    const { body } = whatsApp('whatsapp-text', '66812345678', `WA ${name}`);
    expect((await postMeta(body)).status).toBe(200);
    const byWhatsApp = await eventually(async () => {
      const state = await stateOf('whatsapp:+66812345678', 'whatsapp');
      expect(state.interactions).toHaveLength(1);
      return state;
    });
    expect(byWhatsApp.contactId).toBe(byForm.contactId);
    expect((await stateOf('phone:+66812345678', 'whatsapp')).contactId).toBe(byForm.contactId);
  });

  for (const channel of ['messenger', 'instagram'] as const) {
    it(`captures a ${channel} message with an interaction and an alert; a redelivery adds nothing`, async () => {
      const delivery = loadEvent<MetaWebhook>(`meta/${channel}-text.json`);
      const scopedId = `${randomInt(1e7, 9e7)}${randomInt(1e7, 9e7)}`;
      const text = `Is the ${channel} offer ${tag()} still on?`;
      const event = delivery.entry[0]?.messaging?.[0] as {
        sender: { id: string };
        message: { mid: string; text: string };
      };
      event.sender.id = scopedId;
      event.message.mid = `m_${randomUUID()}`;
      event.message.text = text;
      const body = JSON.stringify(delivery);

      expect((await postMeta(body)).status).toBe(200);
      const first = await eventually(async () => {
        const state = await stateOf(`${channel}:${scopedId}`, channel);
        expect(state.interactions).toHaveLength(1);
        return state;
      });
      expect(first.contactId).toBeDefined();
      await eventually(async () => expect(await alertsAbout(text)).toHaveLength(1));

      expect((await postMeta(body)).status).toBe(200);
      await settle();
      expect((await stateOf(`${channel}:${scopedId}`, channel)).interactions).toHaveLength(1);
      expect(await alertsAbout(text)).toHaveLength(1);
    });
  }
});

describe('Telegram webhook end to end', () => {
  it('captures a shared contact with the phone and the Telegram handle; a retried update adds nothing', async () => {
    const update = loadEvent<TelegramUpdate>('telegram/contact-shared.json');
    const userId = randomInt(1e9, 8e9);
    const first = `Minsu${tag()}`;
    // Assigned Korean mobile ranges only (010-59xx… is not), so the number always normalizes.
    const digits = String(randomInt(20_000_000, 50_000_000));
    const message = update.message;
    if (!message?.from || !message.contact) throw new Error('sample has no sender or contact');
    update.update_id = randomInt(1e8, 9e8);
    Object.assign(message.from, { id: userId, first_name: first });
    Object.assign(message.chat, { id: userId });
    Object.assign(message.contact, { user_id: userId, first_name: first, phone_number: `8210${digits}` });
    const body = JSON.stringify(update);

    const response = await postTelegram(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const state = await eventually(async () => {
      const found = await stateOf(`telegram:${userId}`, 'telegram');
      expect(found.interactions).toHaveLength(1);
      return found;
    });
    expect(state.items.find((item) => item.pk === `IDENT#phone:+8210${digits}`)?.contactId).toBe(
      state.contactId,
    );
    await eventually(async () => {
      const alerts = (await alertsAbout(first)).filter((email) => email.subject.includes(`${first} Kim`));
      expect(alerts).toHaveLength(1);
    });

    expect((await postTelegram(body)).status).toBe(200);
    await settle();
    expect((await stateOf(`telegram:${userId}`, 'telegram')).interactions).toHaveLength(1);
    expect(await alertsAbout(first)).toHaveLength(1);
  });

  it('refuses a wrong secret token with 403 and stores nothing', async () => {
    const update = loadEvent<TelegramUpdate>('telegram/message.json');
    update.update_id = randomInt(1e8, 9e8);
    const marker = `Forged ${tag()}`;
    if (update.message) update.message.text = marker;
    const response = await postTelegram(JSON.stringify(update), 'not-the-token');
    expect(response.status).toBe(403);
    await settle();
    expect(JSON.stringify(await system.items())).not.toContain(marker);
  });
});

describe('website chat widget end to end', () => {
  it('captures a chat message with 202, an interaction and an alert; a client retry adds nothing', async () => {
    const id = tag();
    const message = {
      ...loadEvent<Record<string, unknown>>('chat/message.json'),
      visitorId: `visitor_${id}`,
      sessionId: `session_${id}`,
      messageId: `message_${id}`,
      name: `Jiwoo ${id}`,
      email: `jiwoo.${id}@example.com`,
      text: `Do you offer a trial? (${id})`,
    };
    const post = () =>
      system.post('/v1/chat/site-chat', {
        headers: { 'content-type': 'application/json', origin: 'https://www.example.com' },
        body: JSON.stringify(message),
      });

    const response = await post();
    expect(response.status).toBe(202);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    const { id: submissionId } = (await response.json()) as { id: string };
    expect(submissionId).toMatch(/^[0-9A-Z]{26}$/);
    const state = await eventually(async () => {
      const found = await stateOf(`chat:visitor_${id}`, 'chat');
      expect(found.interactions).toHaveLength(1);
      return found;
    });
    expect(state.items.find((item) => item.pk === `IDENT#email:jiwoo.${id}@example.com`)?.contactId).toBe(
      state.contactId,
    );
    await eventually(async () => {
      const alerts = (await alertsAbout(message.text)).filter((email) =>
        email.subject.includes(`Jiwoo ${id}`),
      );
      expect(alerts).toHaveLength(1);
    });

    const retry = await post();
    expect(retry.status).toBe(202);
    expect(((await retry.json()) as { id: string }).id).toBe(submissionId);
    await settle();
    expect((await stateOf(`chat:visitor_${id}`, 'chat')).interactions).toHaveLength(1);
    expect(await alertsAbout(message.text)).toHaveLength(1);
  });
});
