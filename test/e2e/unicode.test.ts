import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { MetaWebhook, TelegramUpdate } from '@leadflow/core';
import nodemailer, { type Transporter } from 'nodemailer';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvent } from '../support/events';
import {
  eventually,
  MANAGER_EMAILS,
  person,
  type SentEmail,
  startTestSystem,
  type TestSystem,
} from '../support/system';

// Text outside the Basic Multilingual Plane through every text-bearing channel of the running local
// system: in over HTTP or SMTP, through both queues, DynamoDB and the SES emulator, and out in the
// manager alert exactly as it was written. Twilio voice carries no text (Twilio sends no caller name
// unless CNAM lookup is bought, and we do not read it), so it has no case here.
let system: TestSystem;
let smtp: Transporter;

beforeAll(async () => {
  system = await startTestSystem();
  const { hostname, port } = new URL(system.urls.smtp);
  smtp = nodemailer.createTransport({ host: hostname, port: Number(port), secure: false, ignoreTLS: true });
});

afterAll(async () => {
  smtp?.close();
  await system?.stop();
});

const MANAGERS = MANAGER_EMAILS;
/** U+1F338, outside the BMP: the visitor whose form answered 500 before queue bodies were escaped. */
const BLOSSOM = '🌸';
/** U+20BB7, a rare CJK ideograph (CJK Extension B): a surrogate pair in UTF-16, 4 bytes in UTF-8. */
const RARE_CJK = '𠮷';
/** Man, woman, girl joined by U+200D ZERO WIDTH JOINER: one family glyph, five code points. */
const FAMILY = '👨‍👩‍👧';

/** A unique person whose name and message carry astral characters; `id` finds their items and alerts. */
function astralPerson(tag: string) {
  const base = person(tag);
  const id = randomUUID().slice(0, 8);
  return {
    ...base,
    id,
    name: `Mina ${BLOSSOM} ${id}`,
    text: `${RARE_CJK}野家で ${FAMILY} 가족 견적 부탁해요 ${BLOSSOM} (${id})`,
  };
}

const secret = (name: string) => {
  const value = system.env[name];
  if (!value) throw new Error(`The local system has no ${name}`);
  return value;
};

function postJson(path: string, body: unknown, headers: Record<string, string> = {}) {
  return system.post(path, {
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function postMeta(delivery: MetaWebhook) {
  const body = JSON.stringify(delivery);
  const signature = createHmac('sha256', secret('META_APP_SECRET')).update(body).digest('hex');
  return system.post('/v1/webhooks/meta', {
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` },
    body,
  });
}

/** A Messenger or Instagram delivery of `text` from a fresh sender, built from the sample. */
function metaMessaging(sample: 'messenger-text' | 'instagram-text', text: string): MetaWebhook {
  const delivery = loadEvent<MetaWebhook>(`meta/${sample}.json`);
  const event = delivery.entry[0]?.messaging?.[0] as {
    sender: { id: string };
    message: { mid: string; text: string };
  };
  event.sender.id = String(randomInt(100_000_000_000_000, 281_000_000_000_000));
  event.message.mid = `m_${randomBytes(24).toString('base64url')}`;
  event.message.text = text;
  return delivery;
}

/** The routed state of the capture whose message contains `marker`: its interaction, contact and lead. */
async function landed(channel: string, marker: string) {
  return eventually(async () => {
    const items = await system.items();
    const interaction = items.find(
      (item) =>
        item.type === 'interaction' &&
        item.channel === channel &&
        typeof item.message === 'string' &&
        item.message.includes(marker),
    );
    expect(interaction, `a ${channel} interaction mentioning ${marker}`).toBeDefined();
    const own = items.filter((item) => item.pk === interaction?.pk);
    const lead = own.find((item) => item.sk === `LEAD#${interaction?.leadId}`);
    expect(lead).toBeDefined();
    return {
      interaction: interaction as Record<string, unknown>,
      profile: own.find((item) => item.sk === 'PROFILE') as Record<string, unknown>,
      capture: lead?.capture as {
        contact: { name?: string };
        message?: string;
        email?: { subject?: string };
      },
    };
  }, 15_000);
}

/** The one manager alert whose text mentions `marker`. */
async function alertAbout(marker: string): Promise<SentEmail> {
  const [alert] = await eventually(async () => {
    const alerts = (await system.emails()).filter(
      (email) =>
        email.destination.to.some((to) => MANAGERS.some((manager) => to.includes(manager))) &&
        (email.body.text ?? '').includes(marker),
    );
    expect(alerts).toHaveLength(1);
    return alerts;
  }, 15_000);
  if (!alert) throw new Error('unreachable');
  return alert;
}

/** The message (and name, when the channel carries one) intact in DynamoDB and in the alert. */
async function expectIntact(
  channel: string,
  label: string,
  lead: { id: string; text: string; name?: string },
): Promise<SentEmail> {
  const state = await landed(channel, lead.id);
  expect(state.interaction.message).toBe(lead.text);
  expect(state.interaction.summary).toContain(lead.text);
  expect(state.capture.message).toBe(lead.text);
  const alert = await alertAbout(lead.id);
  expect(alert.body.text).toContain(lead.text);
  // Nothing in the text needs HTML escaping: the HTML part carries it verbatim.
  expect(alert.body.html).toContain(lead.text);
  if (lead.name !== undefined) {
    expect(state.profile.name).toBe(lead.name);
    expect(state.capture.contact.name).toBe(lead.name);
    expect(alert.subject).toBe(`New lead: ${lead.name} via ${label}`);
    expect(alert.body.text).toContain(lead.name);
    expect(alert.body.html).toContain(lead.name);
  } else {
    expect(alert.subject).toMatch(new RegExp(`^New lead: .+ via ${label}$`));
  }
  return alert;
}

/** Decodes the RFC 2047 B-encoded words of a header, as a mail client shows it. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi, (_, base64: string) =>
      Buffer.from(base64, 'base64').toString('utf8'),
    );
}

describe('text outside the BMP through every channel, end to end', () => {
  it('web form: name and message in the alert (subject, Reply-To, body) and in the acknowledgement', async () => {
    const lead = astralPerson('uni-form');
    const response = await postJson('/v1/forms/demo-contact', {
      name: lead.name,
      email: lead.email,
      phone: lead.phoneKr,
      message: lead.text,
      consent: true,
    });
    expect(response.status).toBe(202);

    const alert = await expectIntact('web_form', 'web form', lead);
    expect(alert.replyTo.map(decodeHeader)).toEqual([`${lead.name} <${lead.emailKey}>`]);
    const [ack] = await eventually(async () => {
      const acks = (await system.emails()).filter((email) =>
        email.destination.to.some((to) => to.toLowerCase().includes(lead.emailKey)),
      );
      expect(acks).toHaveLength(1);
      return acks;
    });
    // The acknowledgement goes to the bare address, and greets and quotes the visitor intact.
    expect(ack?.destination.to).toEqual([lead.emailKey]);
    expect(ack?.body.text).toContain(`Hello ${lead.name},`);
    expect(ack?.body.text).toContain(`> ${lead.text}`);
    expect(ack?.body.html).toContain(lead.name);
    expect(ack?.body.html).toContain(lead.text);
  });

  it('website chat widget: name and message', async () => {
    const lead = astralPerson('uni-chat');
    const response = await postJson(
      '/v1/chat/site-chat',
      {
        visitorId: `visitor_${lead.id}`,
        sessionId: `session_${lead.id}`,
        messageId: `message_${lead.id}`,
        name: lead.name,
        email: lead.email,
        text: lead.text,
      },
      { origin: 'https://www.example.com' },
    );
    expect(response.status).toBe(202);
    await expectIntact('chat', 'website chat', lead);
  });

  it('Twilio SMS: the body', async () => {
    const lead = astralPerson('uni-sms');
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params: Record<string, string> = {
      ...loadEvent<Record<string, string>>('twilio/sms-inbound.json'),
      From: lead.e164,
      Body: lead.text,
      MessageSid: sid,
      SmsSid: sid,
      SmsMessageSid: sid,
    };
    const url = `${system.urls.api}/v1/webhooks/twilio/sms`;
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(secret('TWILIO_AUTH_TOKEN'), url, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(response.status).toBe(200);
    await expectIntact('sms', 'SMS', { id: lead.id, text: lead.text });
  });

  it('generic signed webhook: from.name and message', async () => {
    const lead = astralPerson('uni-generic');
    const event = {
      ...loadEvent<Record<string, unknown>>('generic/lead.json'),
      id: `evt_${lead.id}`,
      from: { name: lead.name, email: lead.email, phone: lead.e164 },
      message: lead.text,
    };
    const body = JSON.stringify(event);
    const timestamp = Math.floor(Date.now() / 1000);
    const key = (JSON.parse(secret('GENERIC_WEBHOOK_SECRETS')) as Record<string, string>).callcenter ?? '';
    const response = await system.post('/v1/webhooks/generic/callcenter', {
      headers: {
        'content-type': 'application/json',
        'x-leadflow-timestamp': String(timestamp),
        'x-leadflow-signature': `v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`,
      },
      body,
    });
    expect(response.status).toBe(202);
    // The call-center source's leads are phone calls (its configured `channel`).
    await expectIntact('phone_call', 'phone call', lead);
  });

  it('WhatsApp: the profile name and the text', async () => {
    const lead = astralPerson('uni-whatsapp');
    const waId = `6681${randomInt(1_000_000, 9_999_999)}`;
    const delivery = loadEvent<MetaWebhook>('meta/whatsapp-text.json');
    const value = delivery.entry[0]?.changes?.[0]?.value as {
      contacts: { wa_id: string; profile: { name: string } }[];
      messages: { from: string; id: string; text: { body: string } }[];
    };
    value.contacts = [{ wa_id: waId, profile: { name: lead.name } }];
    for (const message of value.messages) {
      Object.assign(message, {
        from: waId,
        id: `wamid.${randomUUID().replace(/-/g, '')}`,
        text: { body: lead.text },
      });
    }
    const response = await postMeta(delivery);
    expect(response.status).toBe(200);
    await expectIntact('whatsapp', 'WhatsApp', lead);
  });

  it('Messenger: the text', async () => {
    const lead = astralPerson('uni-messenger');
    const response = await postMeta(metaMessaging('messenger-text', lead.text));
    expect(response.status).toBe(200);
    await expectIntact('messenger', 'Messenger', { id: lead.id, text: lead.text });
  });

  it('Instagram: the text', async () => {
    const lead = astralPerson('uni-instagram');
    const response = await postMeta(metaMessaging('instagram-text', lead.text));
    expect(response.status).toBe(200);
    await expectIntact('instagram', 'Instagram', { id: lead.id, text: lead.text });
  });

  it('Telegram: the first name and the text', async () => {
    const lead = astralPerson('uni-telegram');
    const update = loadEvent<TelegramUpdate>('telegram/message.json') as TelegramUpdate & {
      message: { from: Record<string, unknown>; chat: Record<string, unknown>; text: string };
    };
    const userId = randomInt(1_000_000_000, 281_474_976_710_655);
    update.update_id = randomInt(1, 2 ** 31 - 1);
    update.message.from = { id: userId, is_bot: false, first_name: lead.name };
    update.message.chat = { id: userId, first_name: lead.name, type: 'private' };
    update.message.text = lead.text;
    const response = await postJson('/v1/webhooks/telegram', update, {
      'x-telegram-bot-api-secret-token': secret('TELEGRAM_SECRET_TOKEN'),
    });
    expect(response.status).toBe(200);
    await expectIntact('telegram', 'Telegram', lead);
  });

  it('inbound email over SMTP: the From display name, the subject and the body', async () => {
    const lead = astralPerson('uni-mail');
    const subject = `견적 ${RARE_CJK} ${FAMILY} ${BLOSSOM} ${lead.id}`;
    const info = await smtp.sendMail({
      from: { name: lead.name, address: lead.email },
      to: 'Leadflow Sales <sales@example.com>',
      subject,
      text: lead.text,
      html: `<p>${lead.text}</p>`,
      messageId: `<${randomUUID()}@mail.example.org>`,
    });
    expect(info.rejected).toEqual([]);

    const alert = await expectIntact('email', 'email', lead);
    const state = await landed('email', lead.id);
    expect((state.interaction.email as { subject?: string }).subject).toBe(subject);
    expect(state.capture.email?.subject).toBe(subject);
    expect(alert.body.text).toContain(subject);
    expect(alert.body.html).toContain(subject);
    expect(alert.replyTo.map(decodeHeader)).toEqual([`${lead.name} <${lead.emailKey}>`]);
  });
});
