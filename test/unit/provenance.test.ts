import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type CaptureEvent,
  captureEventSchema,
  captureGenericEvent,
  captureIdentities,
  captureInboundEmail,
  captureTwilioSms,
  captureTwilioVoice,
  type GenericEvent,
  type MetaWebhook,
  metaCaptures,
  renderManagerAlert,
  type TelegramUpdate,
  telegramCapture,
} from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { type SesEvent, sesEventSchema } from '../../functions/inbound-email/event';
import { type InboundEmailDeps, receiveEmail } from '../../functions/inbound-email/receive';
import { loadEvent } from '../support/events';
import { demoConfig, demoManager, notificationFixture } from './support';

const NOW = new Date('2026-11-24T14:02:12.000Z');
const KOREA = { teamId: 'sales', language: 'en', defaultRegion: 'KR' } as const;
const ids = () => {
  let n = 0;
  return () => `sub-${++n}`;
};

function eml(name: string): Uint8Array {
  return readFileSync(fileURLToPath(new URL(`../../events/email/${name}`, import.meta.url)));
}

function emailSource() {
  const email = demoConfig().channels.email;
  if (!email) throw new Error('the demo config has no email channel');
  return email;
}

async function mail(name: string, dmarcVerdict?: string): Promise<CaptureEvent> {
  const outcome = await captureInboundEmail(eml(name), {
    source: emailSource(),
    submissionId: 'sub-1',
    receivedAt: NOW,
    recipients: ['sales@example.com'],
    deliveryId: 'delivery-1',
    ...(dmarcVerdict ? { dmarcVerdict } : {}),
  });
  if (outcome.kind !== 'lead') throw new Error(`expected a lead, got ${outcome.reason}`);
  return captureEventSchema.parse(outcome.event);
}

const provenanceOf = (capture: CaptureEvent) =>
  Object.fromEntries(captureIdentities(capture).map(({ key, provenance }) => [key, provenance]));

describe('what each channel vouches for', () => {
  it('Twilio: the caller ID of a call or an SMS is verified; the number we dialled is not', () => {
    const sms = captureTwilioSms(
      { ...loadEvent<Record<string, string>>('twilio/sms-inbound.json'), From: '+821012345678' },
      { submissionId: 'sub-1', receivedAt: NOW, source: KOREA },
    );
    if (sms.kind !== 'capture') throw new Error('expected a capture');
    expect(provenanceOf(sms.capture)).toEqual({ 'phone:+821012345678': 'verified' });

    const voice = loadEvent<Record<string, string>>('twilio/voice-missed-call.json');
    const inbound = captureTwilioVoice(voice, { submissionId: 'sub-2', receivedAt: NOW, source: KOREA });
    if (inbound.kind !== 'capture') throw new Error('expected a capture');
    expect(Object.values(provenanceOf(inbound.capture))).toEqual(['verified']);

    const outbound = captureTwilioVoice(
      { ...voice, Direction: 'outbound-api', From: voice.To ?? '', To: voice.From ?? '' },
      { submissionId: 'sub-3', receivedAt: NOW, source: KOREA },
    );
    if (outbound.kind !== 'capture') throw new Error('expected a capture');
    expect(Object.values(provenanceOf(outbound.capture))).toEqual(['claimed']);
  });

  it('WhatsApp: the wa_id and its phone; Messenger and Instagram: the scoped id', () => {
    const [whatsapp] = metaCaptures(loadEvent<MetaWebhook>('meta/whatsapp-text.json'), KOREA, {
      newId: ids(),
      receivedAt: NOW,
    }).captures;
    expect(provenanceOf(whatsapp as CaptureEvent)).toEqual({
      'phone:+66812345678': 'verified',
      'whatsapp:+66812345678': 'verified',
    });
    const [messenger] = metaCaptures(loadEvent<MetaWebhook>('meta/messenger-text.json'), KOREA, {
      newId: ids(),
      receivedAt: NOW,
    }).captures;
    expect(Object.entries(provenanceOf(messenger as CaptureEvent))).toEqual([
      [expect.stringMatching(/^messenger:/), 'verified'],
    ]);
  });

  it('Telegram: the user id, and a number the user shared as their own', () => {
    const capture = telegramCapture(loadEvent<TelegramUpdate>('telegram/contact-shared.json'), KOREA, {
      newId: ids(),
      receivedAt: NOW,
    });
    expect(provenanceOf(capture as CaptureEvent)).toEqual({
      'phone:+821098765432': 'verified',
      'telegram:5123456789': 'verified',
    });
  });

  it('Email: the sender only when DMARC passes; a Reply-To or a failing sender is claimed', async () => {
    const passing = await mail('korean-euc-kr.eml', 'PASS');
    expect(provenanceOf(passing)).toEqual({ 'email:minsu.kim@example.co.kr': 'verified' });
    expect(passing.email?.dmarc).toBe('pass');

    const failing = await mail('korean-euc-kr.eml', 'FAIL');
    expect(provenanceOf(failing)).toEqual({ 'email:minsu.kim@example.co.kr': 'claimed' });
    expect(failing.email?.dmarc).toBe('fail');

    const gray = await mail('korean-euc-kr.eml', 'GRAY');
    expect(provenanceOf(gray)).toEqual({ 'email:minsu.kim@example.co.kr': 'claimed' });
    expect(gray.email?.dmarc).toBe('none');

    // A relay's From passes DMARC for the relay's domain, not for the visitor in Reply-To.
    const relayed = await mail('with-attachment.eml', 'PASS');
    expect(provenanceOf(relayed)).toEqual({ 'email:jisoo.park@example.kr': 'claimed' });
  });

  it('the inbound-email handler passes the SES DMARC verdict on', async () => {
    const [first] = loadEvent<SesEvent>('ses/receipt-lambda.json').Records;
    if (!first) throw new Error('sample has no record');
    first.ses.receipt.dmarcVerdict.status = 'FAIL';
    const record = sesEventSchema.parse({ Records: [first] }).Records[0];
    if (!record) throw new Error('no record');
    const queued: CaptureEvent[] = [];
    const deps: InboundEmailDeps = {
      source: emailSource(),
      readRaw: async () => eml('english-reply-with-quote-and-signature.eml'),
      store: async (input) => ({ capture: input.capture, replay: false }),
      enqueue: async (capture) => {
        queued.push(capture);
      },
      newId: () => '01JTEST0000000000000000001',
    };
    await receiveEmail(deps, record);
    expect(queued[0]?.email?.dmarc).toBe('fail');
    expect(queued[0]?.verified).toEqual([]);
  });

  it('a partner’s generic webhook vouches for nothing, even for a call', () => {
    const event = loadEvent<GenericEvent>('generic/missed-call.json');
    const source = demoConfig().channels.generic[0];
    if (!source) throw new Error('the demo config has no generic source');
    const capture = captureGenericEvent(event, { submissionId: 'sub-1', receivedAt: NOW, source });
    expect(Object.values(provenanceOf(capture))).toEqual(['claimed']);
  });
});

describe('the manager alert of mail that failed DMARC', () => {
  const options = { leadLinkBaseUrl: 'https://crm.example.com/leads', manager: demoManager() };
  const email = (dmarc: 'pass' | 'fail' | 'none' | undefined) =>
    notificationFixture('manager_alert', {
      channel: 'email',
      sourceId: 'sales@example.com',
      email: { messageId: 'm1', subject: 'Quote', attachments: [], ...(dmarc ? { dmarc } : {}) },
    });

  it('still alerts, and says the sender is unverified', () => {
    const alert = renderManagerAlert(email('fail'), options);
    expect(alert.subject).toContain('New lead');
    expect(alert.text).toContain('Sender: unverified: the message failed DMARC');
    expect(alert.html).toContain('unverified: the message failed DMARC');
  });

  it('says nothing of the sender when DMARC passed, had no verdict, or was never recorded', () => {
    for (const dmarc of ['pass', 'none', undefined] as const) {
      expect(renderManagerAlert(email(dmarc), options).text).not.toContain('unverified');
    }
  });
});
