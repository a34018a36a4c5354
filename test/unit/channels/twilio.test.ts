import {
  type CaptureEvent,
  captureEventSchema,
  captureTwilioSms,
  captureTwilioVoice,
  classifyTwilioVoice,
  escapeTwiml,
  MAX_BODY_BYTES,
  parseTwilioForm,
  publicRequestUrl,
  smsReplyTwiml,
  type TelephonyCaptureContext,
  twilioSignature,
  twilioVoiceParamsSchema,
  ValidationError,
  verifyTwilioSignature,
  voicemailThanksTwiml,
  voicemailTwiml,
} from '@leadflow/core';
import fc from 'fast-check';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { createIngestApp, type IngestDeps, type IngestOutcome } from '../../../functions/ingest/app';
import { loadEvent } from '../../support/events';
import { demoConfig, FakeSubmissionStore, sequentialIds } from '../support';

const TOKEN = 'test-twilio-auth-token';
const NOW = new Date('2025-06-01T09:30:00.000Z');
const VOICE_URL = 'https://api.example.com/v1/webhooks/twilio/voice';
const SMS_URL = 'https://api.example.com/v1/webhooks/twilio/sms';
const KOREA = { teamId: 'sales', language: 'en', defaultRegion: 'KR' } as const;

type Params = Record<string, string>;
const sample = (name: string) => loadEvent<Params>(`twilio/${name}.json`);
const context = (): TelephonyCaptureContext => ({ submissionId: 'sub-1', receivedAt: NOW, source: KOREA });
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

function capture<T extends { readonly kind: string }>(outcome: T): Extract<T, { kind: 'capture' }> {
  if (!isCapture(outcome)) throw new Error(`expected a capture, got ${outcome.kind}`);
  // Every capture must be what the router accepts.
  expect(captureEventSchema.parse(outcome.capture)).toEqual(outcome.capture);
  return outcome;
}

function isCapture<T extends { readonly kind: string }>(
  outcome: T,
): outcome is Extract<T, { kind: 'capture' }> & { capture: CaptureEvent } {
  return outcome.kind === 'capture';
}

describe('X-Twilio-Signature', () => {
  const samples = [
    'voice-incoming',
    'voice-missed-call',
    'voice-voicemail',
    'voice-completed-with-recording',
    'sms-inbound',
    'sms-mms',
  ];

  it.each(samples)('matches the official twilio library on the %s sample', (name) => {
    const params = sample(name);
    for (const url of [VOICE_URL, `${VOICE_URL}?tenant=kr&retry=1`, 'http://localhost:3000/v1/x']) {
      const ours = twilioSignature(TOKEN, url, params);
      expect(ours).toBe(twilio.getExpectedTwilioSignature(TOKEN, url, params));
      expect(twilio.validateRequest(TOKEN, ours, url, params)).toBe(true);
      expect(
        verifyTwilioSignature(TOKEN, twilio.getExpectedTwilioSignature(TOKEN, url, params), url, params),
      ).toBe(true);
    }
  });

  it('matches the official library for any parameters (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,15}$/), fc.string({ unit: 'grapheme' }), {
          maxKeys: 12,
        }),
        fc.webUrl({ withQueryParameters: true }),
        (params, url) => {
          const expected = twilio.getExpectedTwilioSignature(TOKEN, url, params);
          expect(twilioSignature(TOKEN, url, params)).toBe(expected);
          expect(verifyTwilioSignature(TOKEN, expected, url, params)).toBe(true);
        },
      ),
    );
  });

  it('rejects a wrong token, a tampered, added or removed parameter, another URL, a missing header', () => {
    const params = sample('voice-missed-call');
    const signature = twilio.getExpectedTwilioSignature(TOKEN, VOICE_URL, params);
    expect(verifyTwilioSignature(TOKEN, signature, VOICE_URL, params)).toBe(true);

    const wrongToken = twilio.getExpectedTwilioSignature('another-token', VOICE_URL, params);
    expect(verifyTwilioSignature(TOKEN, wrongToken, VOICE_URL, params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, signature, VOICE_URL, { ...params, CallStatus: 'completed' })).toBe(
      false,
    );
    expect(verifyTwilioSignature(TOKEN, signature, VOICE_URL, { ...params, Extra: '1' })).toBe(false);
    const { From: _dropped, ...withoutFrom } = params;
    expect(verifyTwilioSignature(TOKEN, signature, VOICE_URL, withoutFrom)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, signature, SMS_URL, params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, signature, `${VOICE_URL}?a=1`, params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, signature, VOICE_URL.replace('https:', 'http:'), params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, signature, VOICE_URL.replace('api.', 'www.'), params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, undefined, VOICE_URL, params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, '', VOICE_URL, params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, `${signature}=`, VOICE_URL, params)).toBe(false);
    expect(verifyTwilioSignature(TOKEN, signature.toLowerCase(), VOICE_URL, params)).toBe(false);
    // And the official library agrees that each of those is not Twilio's.
    expect(twilio.validateRequest(TOKEN, wrongToken, VOICE_URL, params)).toBe(false);
    expect(twilio.validateRequest(TOKEN, signature, SMS_URL, params)).toBe(false);
  });

  it("accepts the URL with or without the scheme's default port, as Twilio's libraries do", () => {
    const params = sample('sms-inbound');
    const signature = twilio.getExpectedTwilioSignature(TOKEN, SMS_URL, params);
    const withPort = SMS_URL.replace('api.example.com', 'api.example.com:443');
    expect(verifyTwilioSignature(TOKEN, signature, withPort, params)).toBe(true);
    const signedWithPort = twilio.getExpectedTwilioSignature(TOKEN, withPort, params);
    expect(verifyTwilioSignature(TOKEN, signedWithPort, SMS_URL, params)).toBe(true);
    expect(
      verifyTwilioSignature(
        TOKEN,
        signature,
        SMS_URL.replace('api.example.com', 'api.example.com:8443'),
        params,
      ),
    ).toBe(false);
  });

  it('signs repeated parameters like the official library', () => {
    const body = 'To=%2B14155552671&MediaUrl=b&MediaUrl=a&Body=hi+there';
    const params = parseTwilioForm(body);
    expect(params).toEqual({ To: '+14155552671', MediaUrl: ['b', 'a'], Body: 'hi there' });
    expect(twilioSignature(TOKEN, SMS_URL, params)).toBe(
      twilio.getExpectedTwilioSignature(TOKEN, SMS_URL, {
        To: '+14155552671',
        MediaUrl: ['b', 'a'],
        Body: 'hi there',
      }),
    );
  });

  it('parses a form body back to the parameters Twilio posted', () => {
    for (const name of samples) {
      const params = sample(name);
      expect(parseTwilioForm(new URLSearchParams(params).toString())).toEqual(params);
    }
  });
});

describe('the public URL Twilio signed', () => {
  it('is PUBLIC_BASE_URL plus the path and query when configured', () => {
    const request = { url: 'https://abc123.execute-api.us-east-1.amazonaws.com/v1/webhooks/twilio/sms?x=1' };
    expect(publicRequestUrl(request, 'https://leads.example.com/')).toBe(
      'https://leads.example.com/v1/webhooks/twilio/sms?x=1',
    );
  });

  it('honours X-Forwarded-Proto and X-Forwarded-Host, else Host', () => {
    expect(
      publicRequestUrl({
        url: 'http://127.0.0.1:3000/v1/webhooks/twilio/voice',
        forwardedProto: 'https, http',
        forwardedHost: 'abc.ngrok.app',
        host: '127.0.0.1:3000',
      }),
    ).toBe('https://abc.ngrok.app/v1/webhooks/twilio/voice');
    expect(
      publicRequestUrl({
        url: 'https://internal/v1/webhooks/twilio/voice?a=b',
        forwardedProto: 'https',
        host: 'api.example.com',
      }),
    ).toBe('https://api.example.com/v1/webhooks/twilio/voice?a=b');
    expect(
      publicRequestUrl({ url: 'http://localhost:3000/v1/webhooks/twilio/voice', forwardedProto: 'gopher' }),
    ).toBe('http://localhost:3000/v1/webhooks/twilio/voice');
  });
});

describe('Twilio voice requests', () => {
  /** Parameters of one sample with overrides; an `undefined` override removes the parameter. */
  const voice = (name: string, overrides: Record<string, string | undefined> = {}): Params => {
    const params: Params = sample(name);
    for (const [key, value] of Object.entries(overrides)) {
      if (value === undefined) delete params[key];
      else params[key] = value;
    }
    return params;
  };
  const classify = (params: Params) => classifyTwilioVoice(twilioVoiceParamsSchema.parse(params));

  // Our Voice URL answers every inbound call with TwiML, so Twilio reports it `completed` even when
  // nobody at the business spoke to the caller: only evidence that a person answered makes it answered.
  it.each<[string, Params, ReturnType<typeof classifyTwilioVoice>]>([
    ['a hang-up during the greeting', voice('voice-hung-up'), { stage: 'missed', reason: 'hung-up' }],
    [
      'a completed inbound call with no dial leg, not even a duration',
      voice('voice-hung-up', { CallDuration: undefined }),
      { stage: 'missed', reason: 'hung-up' },
    ],
    [
      'the voicemail recording after the caller hung up',
      voice('voice-voicemail'),
      { stage: 'missed', reason: 'voicemail' },
    ],
    [
      'the voicemail recording while the caller is on the line',
      voice('voice-voicemail', { CallStatus: 'in-progress' }),
      { stage: 'missed', reason: 'voicemail' },
    ],
    [
      'a completed status callback carrying a recording',
      voice('voice-hung-up', {
        RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1',
      }),
      { stage: 'missed', reason: 'voicemail' },
    ],
    ['a <Dial> to the team that connected', voice('voice-completed-with-recording'), { stage: 'answered' }],
    [
      'a <Dial> leg reported answered',
      voice('voice-completed-with-recording', { CallStatus: 'in-progress', DialCallStatus: 'answered' }),
      { stage: 'answered' },
    ],
    [
      'a completed call with AnsweredBy=human',
      voice('voice-hung-up', { AnsweredBy: 'human' }),
      { stage: 'answered' },
    ],
    [
      'an outbound call the lead picked up (no answering-machine detection)',
      voice('voice-hung-up', { Direction: 'outbound-api', From: '+14155552671', To: '+821033334444' }),
      { stage: 'answered' },
    ],
    ...['machine_start', 'machine_end_beep', 'fax', 'unknown'].map(
      (answeredBy): [string, Params, ReturnType<typeof classifyTwilioVoice>] => [
        `a completed call with AnsweredBy=${answeredBy}`,
        voice('voice-hung-up', { AnsweredBy: answeredBy }),
        { stage: 'missed', reason: 'machine' },
      ],
    ),
    ...(['no-answer', 'busy', 'failed', 'canceled'] as const).flatMap(
      (status): [string, Params, ReturnType<typeof classifyTwilioVoice>][] => [
        [
          `a ${status} call`,
          voice('voice-missed-call', { CallStatus: status }),
          { stage: 'missed', reason: status },
        ],
        [
          `a <Dial> to the team ending ${status}`,
          voice('voice-completed-with-recording', { CallStatus: 'in-progress', DialCallStatus: status }),
          { stage: 'missed', reason: status },
        ],
      ],
    ),
    ...['queued', 'initiated', 'ringing', 'in-progress'].map(
      (status): [string, Params, ReturnType<typeof classifyTwilioVoice>] => [
        `a ${status} status callback`,
        voice('voice-hung-up', { CallStatus: status }),
        { stage: 'progress' },
      ],
    ),
    ['the Voice URL request of a new call', voice('voice-incoming'), { stage: 'incoming' }],
  ])('classifies %s', (_case, params, expected) => {
    expect(classify(params)).toEqual(expected);
  });

  it('answers the incoming call with voicemail and captures nothing yet', () => {
    const params = sample('voice-incoming');
    expect(captureTwilioVoice(params, context())).toEqual({ kind: 'none', stage: { stage: 'incoming' } });
  });

  it.each(['queued', 'initiated', 'ringing', 'in-progress'])(
    'captures nothing for a %s status callback',
    (status) => {
      for (const name of ['voice-missed-call', 'voice-hung-up']) {
        const params = { ...sample(name), CallStatus: status };
        expect(captureTwilioVoice(params, context())).toEqual({ kind: 'none', stage: { stage: 'progress' } });
      }
    },
  );

  it('turns a no-answer status callback into an urgent missed call', () => {
    const params = sample('voice-missed-call');
    const { capture: event, externalId } = capture(captureTwilioVoice(params, context()));
    expect(externalId).toBe(params.CallSid);
    expect(event).toMatchObject({
      version: 1,
      submissionId: 'sub-1',
      channel: 'phone_call',
      sourceId: '+14155552671',
      teamId: 'sales',
      language: 'en',
      receivedAt: NOW.toISOString(),
      contact: { phone: '+821098765432' },
      consent: false,
      urgent: true,
      answers: {},
      source: { utm: {} },
      externalId,
      conversationId: 'phone:+821098765432',
      call: {
        sid: params.CallSid,
        status: 'no-answer',
        direction: 'inbound',
        durationSeconds: 0,
        missed: true,
        to: '+14155552671',
      },
    });
    expect(event.message).toMatch(/^Missed call \(no answer\) — call back\.$/);
    expect(event.handles).toBeUndefined();
  });

  it.each(['busy', 'failed', 'canceled'])('turns a %s call into an urgent missed call', (status) => {
    const params: Params = { ...sample('voice-missed-call'), CallStatus: status };
    const { capture: event, externalId } = capture(captureTwilioVoice(params, context()));
    expect(event.urgent).toBe(true);
    expect(event.call).toMatchObject({ status, missed: true });
    expect(externalId).toBe(params.CallSid);
  });

  it('turns a hang-up during the greeting into an urgent missed call, not an answered one', () => {
    const params = sample('voice-hung-up');
    const { capture: event, externalId, stage } = capture(captureTwilioVoice(params, context()));
    expect(stage).toEqual({ stage: 'missed', reason: 'hung-up' });
    expect(externalId).toBe(params.CallSid);
    expect(event).toMatchObject({
      channel: 'phone_call',
      urgent: true,
      contact: { phone: '+821033334444' },
      conversationId: 'phone:+821033334444',
      externalId: params.CallSid,
      call: { status: 'completed', durationSeconds: 7, missed: true, to: '+14155552671' },
    });
    expect(event.call?.recordingUrl).toBeUndefined();
    expect(event.message).toBe('Missed call (caller hung up without leaving a voicemail) — call back.');
  });

  it('turns a voicemail recording into an urgent missed call with the recording', () => {
    const params = sample('voice-voicemail');
    const { capture: event, externalId, stage } = capture(captureTwilioVoice(params, context()));
    expect(stage).toEqual({ stage: 'missed', reason: 'voicemail' });
    expect(externalId).toBe(params.CallSid);
    expect(event.urgent).toBe(true);
    expect(event.conversationId).toBe('phone:+821055501234');
    expect(event.call).toMatchObject({ missed: true, recordingUrl: params.RecordingUrl });
    expect(event.message).toBe(
      `Missed call, voicemail left (14 s) — call back.\nVoicemail: ${params.RecordingUrl}`,
    );
    expect(event.contact).toEqual({ phone: '+821055501234' });
  });

  it('turns a completed call the team answered into a timeline entry with duration and recording', () => {
    const params = sample('voice-completed-with-recording');
    const { capture: event, externalId, stage } = capture(captureTwilioVoice(params, context()));
    expect(stage).toEqual({ stage: 'answered' });
    expect(externalId).toBe(params.CallSid);
    expect(event.urgent).toBe(false);
    expect(event.conversationId).toBe('phone:+821077778888');
    expect(event.call).toEqual({
      sid: params.CallSid,
      status: 'completed',
      direction: 'inbound',
      durationSeconds: 185,
      recordingUrl: params.RecordingUrl,
      missed: false,
      to: '+14155552671',
    });
    expect(event.message).toBe(`Call answered (185 s).\nRecording: ${params.RecordingUrl}`);
  });

  it('treats a <Dial> to the team that nobody answered as missed', () => {
    const params: Params = {
      ...sample('voice-completed-with-recording'),
      CallStatus: 'in-progress',
      DialCallStatus: 'no-answer',
      DialCallDuration: '0',
    };
    delete params.RecordingUrl;
    delete params.RecordingSid;
    const { capture: event, externalId } = capture(captureTwilioVoice(params, context()));
    expect(event.urgent).toBe(true);
    expect(event.call).toMatchObject({ status: 'no-answer', missed: true, durationSeconds: 0 });
    expect(externalId).toBe(params.CallSid);
  });

  it('answers a call only on evidence of a person: AnsweredBy=human yes, a machine no', () => {
    const human = voice('voice-hung-up', { AnsweredBy: 'human', CallDuration: '42' });
    const answered = capture(captureTwilioVoice(human, context()));
    expect(answered.stage).toEqual({ stage: 'answered' });
    expect(answered.capture).toMatchObject({
      urgent: false,
      conversationId: 'phone:+821033334444',
      call: { missed: false, durationSeconds: 42 },
    });
    expect(answered.capture.call?.recordingUrl).toBeUndefined();
    expect(answered.capture.message).toBe('Call answered (42 s).');

    // The team called the lead (outbound-api with AMD): the person is the called party.
    const machine = voice('voice-hung-up', {
      Direction: 'outbound-api',
      From: '+14155552671',
      To: '+821098765432',
      AnsweredBy: 'machine_end_beep',
    });
    const voicemail = capture(captureTwilioVoice(machine, context()));
    expect(voicemail.stage).toEqual({ stage: 'missed', reason: 'machine' });
    expect(voicemail.capture).toMatchObject({
      urgent: true,
      contact: { phone: '+821098765432' },
      sourceId: '+14155552671',
      conversationId: 'phone:+821098765432',
      call: { missed: true, direction: 'outbound-api', to: '+14155552671' },
    });
  });

  it('normalizes a national-format caller with the channel region', () => {
    const params = { ...sample('voice-missed-call'), From: '010-9876-5432' };
    expect(capture(captureTwilioVoice(params, context())).capture.contact.phone).toBe('+821098765432');
  });

  it('cannot capture a withheld or non-phone caller', () => {
    for (const From of ['anonymous', '+266696687', 'client:tommy', '']) {
      for (const name of ['voice-missed-call', 'voice-hung-up']) {
        const outcome = captureTwilioVoice({ ...sample(name), From }, context());
        expect(outcome.kind, `${name} ${From}`).toBe('no_caller');
      }
    }
  });

  it('refuses parameters that are not what Twilio sends, naming them', () => {
    const params = { ...sample('voice-missed-call'), CallSid: 'CA123', CallDuration: 'soon' };
    const error = (() => {
      try {
        captureTwilioVoice(params, context());
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields.map((f) => f.field).sort()).toEqual(['CallDuration', 'CallSid']);
  });

  it('gives every final event of one call the same natural key, and another call another one', () => {
    const keyOf = (params: Params) => capture(captureTwilioVoice(params, context())).externalId;
    const recording = sample('voice-voicemail');
    const CallSid = recording.CallSid ?? '';
    const finals = [
      recording,
      { ...recording, CallStatus: 'in-progress' },
      voice('voice-hung-up', { CallSid, From: recording.From }),
      voice('voice-missed-call', { CallSid, From: recording.From }),
      voice('voice-completed-with-recording', { CallSid, From: recording.From }),
    ];
    expect(new Set(finals.map(keyOf))).toEqual(new Set([CallSid]));
    expect(keyOf(sample('voice-missed-call'))).toBe(keyOf(sample('voice-missed-call')));
    expect(keyOf(sample('voice-missed-call'))).not.toBe(keyOf(sample('voice-hung-up')));
  });
});

describe('Twilio SMS', () => {
  it('turns an inbound SMS into an sms capture on the sender’s conversation', () => {
    const params = sample('sms-inbound');
    const { capture: event, externalId } = capture(captureTwilioSms(params, context()));
    expect(externalId).toBe(params.MessageSid);
    expect(event).toMatchObject({
      channel: 'sms',
      sourceId: '+14155552671',
      contact: { phone: '+821023456789' },
      message: params.Body,
      urgent: false,
      consent: false,
      conversationId: 'sms:+821023456789',
      externalId: params.MessageSid,
    });
    expect(event.call).toBeUndefined();
  });

  it('notes MMS attachments in the message', () => {
    const params = sample('sms-mms');
    const { capture: event } = capture(captureTwilioSms(params, context()));
    expect(event.message).toBe(`${params.Body}\n\n[1 attachment]\nimage/jpeg: ${params.MediaUrl0}`);
    const onlyMedia = capture(captureTwilioSms({ ...params, Body: '' }, context()));
    expect(onlyMedia.capture.message).toBe(`[1 attachment]\nimage/jpeg: ${params.MediaUrl0}`);
  });

  it('strips control characters from the text', () => {
    const params = { ...sample('sms-inbound'), Body: ' Hello\u0000 there\r\nsecond line ' };
    expect(capture(captureTwilioSms(params, context())).capture.message).toBe('Hello there\nsecond line');
  });

  it('cannot capture an alphanumeric or short-code sender', () => {
    for (const From of ['ACME', '12345']) {
      expect(captureTwilioSms({ ...sample('sms-inbound'), From }, context()).kind, From).toBe('no_caller');
    }
  });

  it('refuses a body that is not an SMS webhook', () => {
    expect(() => captureTwilioSms({ ...sample('sms-inbound'), MessageSid: 'nope' }, context())).toThrow(
      ValidationError,
    );
  });
});

describe('TwiML', () => {
  it('greets and records a voicemail for an incoming call', () => {
    const xml = voicemailTwiml();
    expect(xml.startsWith(`${XML_DECLARATION}<Response><Say>`)).toBe(true);
    expect(xml).toMatch(/<Record maxLength="120" playBeep="true"\/>/);
    expect(xml.endsWith('</Response>')).toBe(true);
    expect(voicemailThanksTwiml()).toMatch(/<Hangup\/><\/Response>$/);
  });

  it('escapes the SMS auto-reply and sends nothing without one', () => {
    expect(smsReplyTwiml('Thanks & see you <soon> "Kim" \'ok\'')).toBe(
      `${XML_DECLARATION}<Response><Message>Thanks &amp; see you &lt;soon&gt; &quot;Kim&quot; &apos;ok&apos;</Message></Response>`,
    );
    expect(smsReplyTwiml(undefined)).toBe(`${XML_DECLARATION}<Response/>`);
    expect(smsReplyTwiml('  ')).toBe(`${XML_DECLARATION}<Response/>`);
  });

  it('escapes any text so no markup survives (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(escapeTwiml(text)).not.toMatch(/[<>"']|&(?!(amp|lt|gt|quot|apos);)/);
      }),
    );
  });
});

/** The ingest app with in-memory fakes, as the Lambda serves it. */
function harness(overrides: Partial<IngestDeps> = {}) {
  const store = new FakeSubmissionStore();
  const queued: CaptureEvent[] = [];
  const outcomes: IngestOutcome[] = [];
  const app = createIngestApp({
    config: demoConfig(),
    store: store.store,
    enqueue: async (event) => {
      queued.push(event);
    },
    countSpam: async () => undefined,
    newId: sequentialIds('sub'),
    clock: () => NOW,
    secrets: { twilioAuthToken: TOKEN, generic: {} },
    publicBaseUrl: 'https://api.example.com',
    observe: (event) => outcomes.push(event),
    ...overrides,
  });
  const post = (url: string, params: Params, headers: Record<string, string> = {}) =>
    app.request(new URL(url).pathname, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, url, params),
        ...headers,
      },
      body: new URLSearchParams(params).toString(),
    });
  return { app, store, queued, outcomes, post };
}

describe('Twilio routes', () => {
  it('stores and queues a missed call before answering an empty TwiML document', async () => {
    const { post, store, queued } = harness();
    const response = await post(VOICE_URL, sample('voice-missed-call'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);
    expect(store.calls).toHaveLength(1);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ channel: 'phone_call', urgent: true, submissionId: 'sub-1' });
  });

  it('answers an incoming call with the voicemail greeting and stores nothing', async () => {
    const { post, store } = harness();
    const response = await post(VOICE_URL, sample('voice-incoming'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(voicemailTwiml());
    expect(store.calls).toHaveLength(0);
  });

  it('thanks a caller still on the line after the voicemail', async () => {
    const { post, queued } = harness();
    const response = await post(VOICE_URL, { ...sample('voice-voicemail'), CallStatus: 'in-progress' });
    expect(await response.text()).toBe(voicemailThanksTwiml());
    expect(queued).toHaveLength(1);
  });

  it('stores a voicemail call once, whichever of its recording and status callback comes first', async () => {
    const recording = sample('voice-voicemail');
    const status = {
      ...sample('voice-hung-up'),
      CallSid: recording.CallSid ?? '',
      From: recording.From ?? '',
    };
    for (const order of [
      [recording, status],
      [status, recording],
    ]) {
      const { post, store, queued } = harness();
      for (const params of order) {
        const response = await post(VOICE_URL, params);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);
      }
      expect(store.size).toBe(1);
      expect(store.calls.map((call) => call.result?.replay)).toEqual([false, true]);
      // A replay re-queues the stored capture, which the router drops: one submission, one capture.
      expect(new Set(queued.map((event) => event.submissionId))).toEqual(new Set(['sub-1']));
      expect(queued[0]).toMatchObject({
        urgent: true,
        externalId: recording.CallSid,
        call: { missed: true },
      });
      // With the recording first the capture carries it; with the status callback first it does not.
      expect(queued[0]?.call?.recordingUrl).toBe(order[0] === recording ? recording.RecordingUrl : undefined);
    }
  });

  it('still thanks a caller on the line after the voicemail when the call is already captured', async () => {
    const { post, store } = harness();
    const recording = { ...sample('voice-voicemail'), CallStatus: 'in-progress' };
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await (await post(VOICE_URL, recording)).text()).toBe(voicemailThanksTwiml());
    }
    expect(store.calls.map((call) => call.result?.replay)).toEqual([false, true]);
  });

  it('stores an urgent missed call for a hang-up during the greeting', async () => {
    const { post, queued } = harness();
    const response = await post(VOICE_URL, sample('voice-hung-up'));
    expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      channel: 'phone_call',
      urgent: true,
      conversationId: 'phone:+821033334444',
      call: { missed: true, status: 'completed' },
    });
  });

  it('stores a retried callback once', async () => {
    const { post, store, queued } = harness();
    await post(VOICE_URL, sample('voice-missed-call'));
    await post(VOICE_URL, sample('voice-missed-call'));
    expect(store.size).toBe(1);
    expect(store.calls.map((call) => call.result?.replay)).toEqual([false, true]);
    expect(new Set(queued.map((event) => event.submissionId))).toEqual(new Set(['sub-1']));
  });

  it('auto-replies to the first delivery of an SMS only', async () => {
    const { post, queued } = harness();
    const first = await post(SMS_URL, sample('sms-inbound'));
    expect(first.status).toBe(200);
    const reply = demoConfig().channels.twilio?.smsAutoReply ?? '';
    expect(reply).not.toBe('');
    expect(await first.text()).toBe(
      `${XML_DECLARATION}<Response><Message>${escapeTwiml(reply)}</Message></Response>`,
    );
    const again = await post(SMS_URL, sample('sms-inbound'));
    expect(await again.text()).toBe(`${XML_DECLARATION}<Response/>`);
    expect(queued[0]).toMatchObject({ channel: 'sms', conversationId: 'sms:+821023456789' });
  });

  it('verifies against the request URL and forwarded headers without PUBLIC_BASE_URL', async () => {
    const { app, queued } = harness({ publicBaseUrl: undefined });
    const params = sample('sms-inbound');
    const signedFor = 'https://abc.ngrok.app/v1/webhooks/twilio/sms';
    const response = await app.request('http://localhost:3000/v1/webhooks/twilio/sms', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'abc.ngrok.app',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, signedFor, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(response.status).toBe(200);
    expect(queued).toHaveLength(1);
  });

  it('answers 403 with a JSON error to a bad or missing signature, and stores nothing', async () => {
    const { post, store, queued, outcomes } = harness();
    const params = sample('voice-missed-call');
    const bad = [
      { 'x-twilio-signature': twilio.getExpectedTwilioSignature('wrong-token', VOICE_URL, params) },
      { 'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, SMS_URL, params) },
      { 'x-twilio-signature': '' },
    ];
    for (const headers of bad) {
      const response = await post(VOICE_URL, params, headers);
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden', message: expect.any(String) });
    }
    const tampered = await harness().app.request('/v1/webhooks/twilio/voice', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, VOICE_URL, params),
      },
      body: new URLSearchParams({ ...params, From: '+821011112222' }).toString(),
    });
    expect(tampered.status).toBe(403);
    expect(store.calls).toHaveLength(0);
    expect(queued).toHaveLength(0);
    expect(outcomes.every((o) => o.status === 403)).toBe(true);
  });

  it('answers 404 when the channel has no auth token or no configuration', async () => {
    const noToken = harness({ secrets: { generic: {} } });
    expect((await noToken.post(SMS_URL, sample('sms-inbound'))).status).toBe(404);
    const config = demoConfig();
    (config.channels as { twilio?: unknown }).twilio = undefined;
    const noConfig = harness({ config });
    expect((await noConfig.post(VOICE_URL, sample('voice-missed-call'))).status).toBe(404);
  });

  it('answers 415 to other content types and 413 to oversize bodies', async () => {
    const { post, store } = harness();
    const params = sample('sms-inbound');
    for (const type of ['application/json', 'multipart/form-data; boundary=x', 'text/plain', '']) {
      const response = await post(SMS_URL, params, { 'content-type': type });
      expect(response.status, type).toBe(415);
    }
    const big = { ...params, Body: 'x'.repeat(MAX_BODY_BYTES) };
    expect((await post(SMS_URL, big)).status).toBe(413);
    expect(store.calls).toHaveLength(0);
  });

  it('answers 422 naming the field when a signed body is not a Twilio webhook', async () => {
    const { post, store } = harness();
    const response = await post(VOICE_URL, { ...sample('voice-missed-call'), CallSid: 'not-a-sid' });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { fields: { field: string }[] }).fields.map((f) => f.field)).toEqual([
      'CallSid',
    ]);
    expect(store.calls).toHaveLength(0);
  });

  it('lets a storage failure become a 500 so Twilio retries', async () => {
    const { post } = harness({
      store: async () => {
        throw new Error('DynamoDB is down');
      },
    });
    expect((await post(SMS_URL, sample('sms-inbound'))).status).toBe(500);
  });
});
