import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders } from '../../local/sign';
import { loadEvent } from '../support/events';
import {
  eventually,
  MANAGER_EMAILS,
  person,
  type SentEmail,
  startTestSystem,
  type TestSystem,
} from '../support/system';

// Telephony through the whole local system: Twilio voice and SMS webhooks and the generic signed
// webhook in, DynamoDB items and manager alerts in the SES store out; retries that add nothing.
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

type Params = Record<string, string>;
const MANAGERS = MANAGER_EMAILS;
/** Long enough for a redelivery to have been routed and alerted, were it going to be. */
const SETTLE_MS = 1500;
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

const secret = (name: string) => {
  const value = system.env[name];
  if (!value) throw new Error(`The local system has no ${name}`);
  return value;
};
const settle = () => new Promise((done) => setTimeout(done, SETTLE_MS));
const sid = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;

/** A Twilio sample from one caller with a fresh CallSid/MessageSid, as Twilio would post it. */
function twilioSample(name: string, from: string, overrides: Params = {}): Params {
  const params = loadEvent<Params>(`twilio/${name}.json`);
  for (const key of ['From', 'Caller']) if (key in params) params[key] = from;
  if (params.CallSid) params.CallSid = sid('CA');
  if (params.RecordingSid) {
    params.RecordingSid = sid('RE');
    params.RecordingUrl = `https://api.twilio.com/2010-04-01/Accounts/${params.AccountSid}/Recordings/${params.RecordingSid}`;
  }
  if (params.MessageSid) {
    params.MessageSid = sid('SM');
    params.SmsSid = params.MessageSid;
    params.SmsMessageSid = params.MessageSid;
  }
  return { ...params, ...overrides };
}

/** Posts form parameters signed by the official twilio library for the URL this request goes to. */
function postTwilio(path: string, params: Params, token = secret('TWILIO_AUTH_TOKEN')) {
  const url = `${system.urls.api}${path}`;
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}

function postGeneric(body: string, timestamp = Math.floor(Date.now() / 1000), key?: string) {
  const secrets = JSON.parse(secret('GENERIC_WEBHOOK_SECRETS')) as Record<string, string>;
  const hmac = createHmac('sha256', key ?? secrets.callcenter ?? '')
    .update(`${timestamp}.${body}`)
    .digest('hex');
  return system.post('/v1/webhooks/generic/callcenter', {
    headers: {
      'content-type': 'application/json',
      'x-leadflow-timestamp': String(timestamp),
      'x-leadflow-signature': `v1=${hmac}`,
    },
    body,
  });
}

/** The contact an identity points at and its interactions on one channel. */
async function stateOf(identity: string, channel: string) {
  const items = await system.items();
  const contactId = items.find((item) => item.pk === `IDENT#${identity}`)?.contactId as string | undefined;
  const own = items.filter((item) => contactId !== undefined && item.pk === `CONTACT#${contactId}`);
  return {
    contactId,
    items,
    own,
    interactions: own.filter((item) => item.type === 'interaction' && item.channel === channel),
  };
}

/** Manager alerts whose subject or text mentions `marker` (the contact's display name or number). */
async function alertsAbout(marker: string): Promise<SentEmail[]> {
  return (await system.emails()).filter(
    (email) =>
      email.destination.to.some((to) => MANAGERS.some((manager) => to.includes(manager))) &&
      `${email.subject}\n${email.body.text ?? ''}`.includes(marker),
  );
}

function submissionsWith(items: Record<string, unknown>[], marker: string) {
  return items.filter((item) => item.type === 'submission' && JSON.stringify(item.capture).includes(marker));
}

/** Waits for one interaction on `channel` and one alert, returning them. */
async function routed(identity: string, channel: string, marker: string) {
  return eventually(async () => {
    const state = await stateOf(identity, channel);
    expect(state.contactId).toBeDefined();
    expect(state.interactions).toHaveLength(1);
    const alerts = await alertsAbout(marker);
    expect(alerts).toHaveLength(1);
    return { ...state, alerts };
  });
}

/** After a redelivery: still one interaction and one alert. */
async function expectNothingNew(identity: string, channel: string, marker: string) {
  await settle();
  expect((await stateOf(identity, channel)).interactions).toHaveLength(1);
  expect(await alertsAbout(marker)).toHaveLength(1);
}

describe('Twilio voice end to end', () => {
  it('answers an incoming call with a voicemail greeting and stores nothing', async () => {
    const caller = person('incoming');
    const params = twilioSample('voice-incoming', caller.e164);
    const response = await postTwilio('/v1/webhooks/twilio/voice', params);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    const xml = await response.text();
    expect(xml.startsWith(`${XML_DECLARATION}<Response><Say>`)).toBe(true);
    expect(xml).toContain('<Record ');
    await settle();
    expect(JSON.stringify(await system.items())).not.toContain(params.CallSid);
  });

  it('turns a missed call into an urgent interaction and an alert, once per callback', async () => {
    const caller = person('missed');
    const params = twilioSample('voice-missed-call', caller.e164);
    const response = await postTwilio('/v1/webhooks/twilio/voice', params);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);

    const state = await routed(`phone:${caller.e164}`, 'phone_call', caller.e164);
    const [submission] = submissionsWith(state.items, params.CallSid ?? '');
    expect(submission?.capture).toMatchObject({
      channel: 'phone_call',
      urgent: true,
      contact: { phone: caller.e164 },
      conversationId: `call:${params.CallSid}`,
      externalId: params.CallSid,
      call: { missed: true, status: 'no-answer' },
    });
    const [alert] = state.alerts;
    expect(`${alert?.subject}\n${alert?.body.text}`).toMatch(/urgent/i);

    // Twilio retries the same callback: same natural key, nothing new.
    expect((await postTwilio('/v1/webhooks/twilio/voice', params)).status).toBe(200);
    await expectNothingNew(`phone:${caller.e164}`, 'phone_call', caller.e164);
    expect(submissionsWith(await system.items(), params.CallSid ?? '')).toHaveLength(1);
  });

  it('turns a voicemail call into one urgent interaction and one alert, though both final callbacks arrive', async () => {
    const caller = person('voicemail');
    const recording = twilioSample('voice-voicemail', caller.e164);
    // The final status callback of the same call, after the <Record> action with the voicemail.
    const status = twilioSample('voice-hung-up', caller.e164, { CallSid: recording.CallSid ?? '' });
    for (const params of [recording, status]) {
      const response = await postTwilio('/v1/webhooks/twilio/voice', params);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);
    }

    const state = await routed(`phone:${caller.e164}`, 'phone_call', caller.e164);
    const submissions = submissionsWith(state.items, recording.CallSid ?? '');
    expect(submissions).toHaveLength(1);
    expect(submissions[0]?.capture).toMatchObject({
      urgent: true,
      externalId: recording.RecordingSid,
      conversationId: `call:${recording.CallSid}`,
      call: { missed: true, recordingUrl: recording.RecordingUrl },
    });
    const [alert] = state.alerts;
    expect(alert?.subject).toMatch(/^\[URGENT\] Missed call/);
    expect(alert?.body.text).toContain(recording.RecordingUrl);

    // Twilio retries either callback: still one capture, one interaction, one alert.
    expect((await postTwilio('/v1/webhooks/twilio/voice', status)).status).toBe(200);
    await expectNothingNew(`phone:${caller.e164}`, 'phone_call', caller.e164);
    expect(submissionsWith(await system.items(), recording.CallSid ?? '')).toHaveLength(1);
  });

  it('alerts a hang-up during the greeting as an urgent missed call', async () => {
    const caller = person('hung-up');
    const params = twilioSample('voice-hung-up', caller.e164);
    const response = await postTwilio('/v1/webhooks/twilio/voice', params);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);

    const state = await routed(`phone:${caller.e164}`, 'phone_call', caller.e164);
    expect(submissionsWith(state.items, params.CallSid ?? '')[0]?.capture).toMatchObject({
      urgent: true,
      externalId: params.CallSid,
      conversationId: `call:${params.CallSid}`,
      call: { missed: true, status: 'completed', durationSeconds: 7 },
    });
    const [alert] = state.alerts;
    expect(alert?.subject).toMatch(/^\[URGENT\] Missed call/);
  });

  it("adds a voicemail recorded after the call's final status callback to its lead, alerted once as an update", async () => {
    const caller = person('late-voicemail');
    const status = twilioSample('voice-hung-up', caller.e164);
    const CallSid = status.CallSid ?? '';
    /** The <Record> action of this call, with a recording of its own. */
    const recordingOf = () => twilioSample('voice-voicemail', caller.e164, { CallSid });
    const voice = async (params: Params) => {
      const response = await postTwilio('/v1/webhooks/twilio/voice', params);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);
    };
    /** The call's interactions, its leads and its alerts in the order they were sent. */
    const callState = async () => {
      const state = await stateOf(`phone:${caller.e164}`, 'phone_call');
      const alerts = (await alertsAbout(caller.e164)).sort((a, b) => a.at - b.at);
      const leads = state.own.filter((item) => item.type === 'lead');
      return { ...state, alerts, leads };
    };

    // The final status callback comes first: the call is a missed call, an urgent lead, one alert.
    await voice(status);
    const missed = await routed(`phone:${caller.e164}`, 'phone_call', caller.e164);
    expect(missed.alerts[0]?.subject).toBe(`[URGENT] Missed call from ${caller.e164}: call back`);
    const leadId = missed.interactions[0]?.leadId;

    // Then the voicemail: on the same lead's timeline, alerted as an update with the recording.
    const recording = recordingOf();
    await voice(recording);
    const updated = await eventually(async () => {
      const state = await callState();
      expect(state.interactions).toHaveLength(2);
      expect(state.alerts).toHaveLength(2);
      return state;
    });
    expect(updated.leads).toHaveLength(1);
    expect(updated.leads[0]).toMatchObject({ leadId, urgent: true, messageCount: 2 });
    expect(updated.interactions.map((item) => item.leadId)).toEqual([leadId, leadId]);
    expect(updated.interactions.map((item) => item.mode)).toEqual(['lead', 'message']);
    expect(updated.interactions[1]).toMatchObject({
      externalId: recording.RecordingSid,
      call: { missed: true, recordingUrl: recording.RecordingUrl },
    });
    expect(updated.alerts.map((alert) => alert.subject)).toEqual([
      `[URGENT] Missed call from ${caller.e164}: call back`,
      `[URGENT] Voicemail from ${caller.e164}`,
    ]);
    expect(updated.alerts[1]?.body.text).toContain(`Recording: ${recording.RecordingUrl}`);
    expect(updated.alerts[1]?.body.text).toContain(`/leads/${leadId}`);

    // Twilio retries the recording and the status callback: both are replays. A second recording of
    // the call, posted after them, is processed after them (one call is one FIFO group): once it is
    // in, whatever the retries were going to add would be in too.
    await voice(recording);
    await voice(status);
    const second = recordingOf();
    await voice(second);
    const settled = await eventually(async () => {
      const state = await callState();
      expect(JSON.stringify(state.interactions)).toContain(second.RecordingUrl);
      expect(state.alerts.some((alert) => alert.body.text?.includes(second.RecordingUrl ?? '-'))).toBe(true);
      return state;
    });
    expect(settled.leads).toHaveLength(1);
    expect(settled.interactions).toHaveLength(3);
    expect(settled.alerts).toHaveLength(3);
    expect(settled.interactions.filter((item) => item.externalId === recording.RecordingSid)).toHaveLength(1);
    expect(submissionsWith(settled.items, recording.RecordingSid ?? '')).toHaveLength(1);
  });

  it('records a completed, answered call with its duration and recording on the timeline', async () => {
    const caller = person('answered');
    const params = twilioSample('voice-completed-with-recording', caller.e164);
    expect((await postTwilio('/v1/webhooks/twilio/voice', params)).status).toBe(200);
    const state = await routed(`phone:${caller.e164}`, 'phone_call', caller.e164);
    // The timeline entry is backed by the stored capture, which carries the recording.
    expect(JSON.stringify(state.own)).toContain(params.RecordingUrl);
    const [submission] = submissionsWith(state.items, params.CallSid ?? '');
    expect(submission?.capture).toMatchObject({
      urgent: false,
      call: { missed: false, durationSeconds: 185, recordingUrl: params.RecordingUrl },
    });
  });

  it('answers 403 to a bad signature and stores, queues and alerts nothing', async () => {
    const caller = person('forged');
    const params = twilioSample('voice-missed-call', caller.e164);
    const forged = await postTwilio('/v1/webhooks/twilio/voice', params, 'not-the-auth-token');
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ error: 'forbidden', message: expect.any(String) });
    const unsigned = await system.post('/v1/webhooks/twilio/voice', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    expect(unsigned.status).toBe(403);
    await settle();
    const items = await system.items();
    expect(JSON.stringify(items)).not.toContain(params.CallSid);
    expect(items.some((item) => item.pk === `IDENT#phone:${caller.e164}`)).toBe(false);
    expect(await alertsAbout(caller.e164)).toHaveLength(0);
  });

  it('refuses a request signed for another host that names it in X-Forwarded-Host, and stores nothing', async () => {
    const sender = person('forwarded');
    const forged = twilioSample('sms-inbound', sender.e164, { Body: 'Signed for someone else' });
    const evil = 'https://evil.example/v1/webhooks/twilio/sms';
    const response = await fetch(`${system.urls.api}/v1/webhooks/twilio/sms`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(secret('TWILIO_AUTH_TOKEN'), evil, forged),
      },
      body: new URLSearchParams(forged).toString(),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'forbidden' });

    // A genuine text from the same sender, on the same conversation (one FIFO group), comes after it:
    // once it is routed, anything the refused request had queued would have been routed first.
    const genuine = twilioSample('sms-inbound', sender.e164, { Body: 'Signed for this server' });
    expect((await postTwilio('/v1/webhooks/twilio/sms', genuine)).status).toBe(200);
    const state = await routed(`phone:${sender.e164}`, 'sms', sender.e164);
    expect(state.interactions[0]).toMatchObject({ externalId: genuine.MessageSid });
    expect(submissionsWith(state.items, forged.MessageSid ?? '')).toHaveLength(0);
    expect(JSON.stringify(state.items)).not.toContain(forged.MessageSid);
    expect(state.alerts.filter((alert) => alert.body.text?.includes(forged.Body ?? '-'))).toEqual([]);
  });

  it('accepts the headers printed by npm run sign', async () => {
    const caller = person('helper');
    const params = twilioSample('voice-voicemail', caller.e164);
    const url = `${system.urls.api}/v1/webhooks/twilio/voice`;
    const args = [
      'twilio',
      '--url',
      url,
      ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
    ];
    const headers = Object.fromEntries(signatureHeaders(args, system.env));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params).toString(),
    });
    expect(response.status).toBe(200);
    const state = await routed(`phone:${caller.e164}`, 'phone_call', caller.e164);
    expect(submissionsWith(state.items, params.RecordingSid ?? '')[0]?.capture).toMatchObject({
      urgent: true,
    });
  });
});

describe('Twilio SMS end to end', () => {
  it('records an SMS, auto-replies once, and adds nothing on a retry', async () => {
    const sender = person('sms');
    const params = twilioSample('sms-inbound', sender.e164, { Body: `Quote please ${sender.name}` });
    const response = await postTwilio('/v1/webhooks/twilio/sms', params);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await response.text()).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?><Response><Message>.+<\/Message><\/Response>$/,
    );

    const state = await routed(`phone:${sender.e164}`, 'sms', sender.e164);
    expect(submissionsWith(state.items, params.MessageSid ?? '')[0]?.capture).toMatchObject({
      channel: 'sms',
      message: params.Body,
      conversationId: `sms:${sender.e164}`,
    });

    const retry = await postTwilio('/v1/webhooks/twilio/sms', params);
    expect(await retry.text()).toBe(`${XML_DECLARATION}<Response/>`);
    await expectNothingNew(`phone:${sender.e164}`, 'sms', sender.e164);
  });

  // A public form proves nothing about who typed the number: the email it brings is not attached to the
  // person who texted (that was a takeover). It gets its own contact, linked and with the same owner.
  it('does not attach a form’s email to a person who texted: a linked contact with the same owner', async () => {
    const lead = person('sms-form');
    const sms = twilioSample('sms-inbound', lead.e164);
    expect((await postTwilio('/v1/webhooks/twilio/sms', sms)).status).toBe(200);
    const texted = await routed(`phone:${lead.e164}`, 'sms', lead.e164);

    const form = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: lead.name, email: lead.email, phone: lead.phoneKr, consent: true }),
    });
    expect(form.status).toBe(202);
    await eventually(async () => {
      const items = await system.items();
      const byEmail = items.find((item) => item.pk === `IDENT#email:${lead.emailKey}`);
      const byPhone = items.find((item) => item.pk === `IDENT#phone:${lead.e164}`);
      expect(byEmail?.contactId).toBeDefined();
      expect(byEmail?.contactId).not.toBe(texted.contactId);
      expect(byEmail?.provenance).toBe('claimed');
      expect(byPhone).toMatchObject({ contactId: texted.contactId, provenance: 'verified' });
      const profile = (id: unknown) =>
        items.find((item) => item.pk === `CONTACT#${id}` && item.sk === 'PROFILE');
      const [texter, linked] = [profile(texted.contactId), profile(byEmail?.contactId)];
      expect(texter?.identities).toEqual(new Set([`phone:${lead.e164}`]));
      expect(texter?.possibleDuplicates).toEqual(new Set([byEmail?.contactId]));
      expect(linked).toMatchObject({ duplicateOf: texted.contactId, ownerId: texter?.ownerId });
      const leads = items.filter((item) => item.type === 'lead' && item.contactId === byEmail?.contactId);
      expect(leads.map((item) => item.ownerId)).toEqual([texter?.ownerId]);
    });
  });
});

describe('generic signed webhook end to end', () => {
  const missedCall = (phone: string) => {
    const event = loadEvent<{ id: string; from: { phone: string; name?: string } }>(
      'generic/missed-call.json',
    );
    event.id = `evt_${randomUUID()}`;
    event.from = { phone };
    return event;
  };
  /** A Thai mobile number nobody else in this run uses. */
  const thaiMobile = () => `08${randomInt(1, 10)}${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;

  it('accepts a signed missed call, routes it, and answers a redelivery with the same id', async () => {
    const national = thaiMobile();
    const e164 = `+66${national.slice(1)}`;
    const body = JSON.stringify(missedCall(national));
    const response = await postGeneric(body);
    expect(response.status).toBe(202);
    const { id, status } = (await response.json()) as { id: string; status: string };
    expect(status).toBe('accepted');

    const state = await routed(`phone:${e164}`, 'phone_call', e164);
    expect(submissionsWith(state.items, e164)[0]?.capture).toMatchObject({
      submissionId: id,
      sourceId: 'callcenter',
      urgent: true,
      call: { missed: true },
    });

    const again = await postGeneric(body);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(id);
    await expectNothingNew(`phone:${e164}`, 'phone_call', e164);
  });

  it('answers 403 to a stale or forged request and stores nothing', async () => {
    const national = thaiMobile();
    const body = JSON.stringify(missedCall(national));
    const stale = await postGeneric(body, Math.floor(Date.now() / 1000) - 301);
    expect(stale.status).toBe(403);
    expect(await stale.json()).toMatchObject({ error: 'forbidden' });
    const future = await postGeneric(body, Math.floor(Date.now() / 1000) + 301);
    expect(future.status).toBe(403);
    const forged = await postGeneric(body, undefined, 'a-secret-we-never-gave-out');
    expect(forged.status).toBe(403);
    await settle();
    expect(JSON.stringify(await system.items())).not.toContain(national.slice(1));
  });

  it('answers 404 to an unknown source and 422 with field errors to a bad event', async () => {
    const unknown = await system.post('/v1/webhooks/generic/nobody', {
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    const invalid = await postGeneric(JSON.stringify({ id: 'evt_bad', type: 'call', from: { phone: '12' } }));
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { fields: { field: string }[] }).fields.map((f) => f.field)).toEqual([
      'from.phone',
    ]);
  });
});
