import type { ContactProfile } from '@leadflow/aws';
import {
  type CaptureEvent,
  captureEventSchema,
  captureTwilioSms,
  captureTwilioVoice,
  classifyTwilioVoice,
  escapeTwiml,
  MAX_BODY_BYTES,
  type Notification,
  openConversation,
  parseTwilioForm,
  publicRequestUrl,
  renderManagerAlert,
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
import { demoConfig, demoManager, FakeSubmissionStore, sequentialIds } from '../support';

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
  const BOTH = ['x-forwarded-host', 'x-forwarded-proto'] as const;
  /** A request as received, whose headers record which names were read. */
  const received = (url: string, headers: Record<string, string> = {}) => {
    const read: string[] = [];
    const all = new Headers(headers);
    const get = (name: string) => {
      read.push(name);
      return all.get(name);
    };
    return { read, request: { url, headers: { get } } };
  };
  const forwarded = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

  it('is PUBLIC_BASE_URL plus the path and query when configured, whatever the request says', () => {
    const { request, read } = received(
      'https://abc123.execute-api.us-east-1.amazonaws.com/v1/webhooks/twilio/sms?x=1',
      forwarded,
    );
    for (const trustedProxyHeaders of [[], BOTH]) {
      expect(
        publicRequestUrl(request, { publicBaseUrl: 'https://leads.example.com/', trustedProxyHeaders }),
      ).toBe('https://leads.example.com/v1/webhooks/twilio/sms?x=1');
    }
    expect(read).toEqual([]);
  });

  it('is the URL as received without a base URL, never reading X-Forwarded-* unless trusted', () => {
    const { request, read } = received('http://localhost:3000/v1/webhooks/twilio/voice?a=b', forwarded);
    expect(publicRequestUrl(request)).toBe('http://localhost:3000/v1/webhooks/twilio/voice?a=b');
    expect(publicRequestUrl(request, { trustedProxyHeaders: [] })).toBe(
      'http://localhost:3000/v1/webhooks/twilio/voice?a=b',
    );
    expect(read).toEqual([]);
  });

  it('reads only the forwarded headers the trusted list names', () => {
    const url = 'http://10.0.0.7:3000/v1/webhooks/twilio/voice';
    const host = received(url, {
      'x-forwarded-host': 'abc.ngrok.app, proxy.internal',
      'x-forwarded-proto': 'https',
    });
    expect(publicRequestUrl(host.request, { trustedProxyHeaders: ['x-forwarded-host'] })).toBe(
      'http://abc.ngrok.app/v1/webhooks/twilio/voice',
    );
    expect(host.read).toEqual(['x-forwarded-host']);
    const proto = received(url, { 'x-forwarded-host': 'abc.ngrok.app', 'x-forwarded-proto': 'https, http' });
    expect(publicRequestUrl(proto.request, { trustedProxyHeaders: ['x-forwarded-proto'] })).toBe(
      'https://10.0.0.7:3000/v1/webhooks/twilio/voice',
    );
    expect(proto.read).toEqual(['x-forwarded-proto']);
    const both = received(url, { 'x-forwarded-host': 'abc.ngrok.app', 'x-forwarded-proto': 'https' });
    expect(publicRequestUrl(both.request, { trustedProxyHeaders: BOTH })).toBe(
      'https://abc.ngrok.app/v1/webhooks/twilio/voice',
    );
  });

  it('keeps the received scheme and host when a trusted header is not one', () => {
    const url = 'http://localhost:3000/v1/webhooks/twilio/voice';
    const notHosts: Record<string, string>[] = [
      { 'x-forwarded-proto': 'gopher' },
      { 'x-forwarded-host': 'evil.example/v1/webhooks/twilio/sms?' },
      { 'x-forwarded-host': 'user@evil.example' },
      { 'x-forwarded-host': ' ' },
    ];
    for (const headers of notHosts) {
      const { request } = received(url, headers);
      expect(publicRequestUrl(request, { trustedProxyHeaders: BOTH }), JSON.stringify(headers)).toBe(url);
    }
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
      conversationId: `call:${params.CallSid}`,
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
      conversationId: `call:${params.CallSid}`,
      externalId: params.CallSid,
      call: { status: 'completed', durationSeconds: 7, missed: true, to: '+14155552671' },
    });
    expect(event.call?.recordingUrl).toBeUndefined();
    expect(event.message).toBe('Missed call (caller hung up without leaving a voicemail) — call back.');
  });

  it('turns a voicemail recording into an urgent missed call with the recording, keyed by its RecordingSid', () => {
    const params = sample('voice-voicemail');
    const { capture: event, externalId, callSid, stage } = capture(captureTwilioVoice(params, context()));
    expect(stage).toEqual({ stage: 'missed', reason: 'voicemail' });
    expect(externalId).toBe(params.RecordingSid);
    expect(event.externalId).toBe(params.RecordingSid);
    expect(callSid).toBe(params.CallSid);
    expect(event.urgent).toBe(true);
    expect(event.conversationId).toBe(`call:${params.CallSid}`);
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
    // The <Dial> recorded the leg: the event brings a recording, so its key is the RecordingSid.
    expect(externalId).toBe(params.RecordingSid);
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
    expect(event.conversationId).toBe(`call:${params.CallSid}`);
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
      conversationId: `call:${machine.CallSid}`,
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

  it('keys each kind of event by its natural key: the call outcome by CallSid, a recording by RecordingSid', () => {
    const keys = (params: Params) => {
      const { externalId, callSid } = capture(captureTwilioVoice(params, context()));
      return { externalId, callSid };
    };
    const recording = sample('voice-voicemail');
    const { CallSid = '', RecordingSid = '', From = '' } = recording;
    // The call's outcome: the final status callback and a <Dial> action without a recording.
    for (const outcome of [
      voice('voice-hung-up', { CallSid, From }),
      voice('voice-missed-call', { CallSid, From }),
      voice('voice-hung-up', { CallSid, From, RecordingSid, RecordingUrl: recording.RecordingUrl }),
      voice('voice-completed-with-recording', {
        CallSid,
        From,
        DialCallStatus: 'no-answer',
        RecordingSid: undefined,
        RecordingUrl: undefined,
      }),
    ]) {
      expect(keys(outcome)).toEqual({ externalId: CallSid, callSid: CallSid });
    }
    // A recording: the <Record> action (caller gone or still on the line) and a <Dial> that recorded.
    for (const withRecording of [
      recording,
      { ...recording, CallStatus: 'in-progress' },
      voice('voice-completed-with-recording', { CallSid, From, RecordingSid }),
    ]) {
      expect(keys(withRecording)).toEqual({ externalId: RecordingSid, callSid: CallSid });
    }
    expect(keys(sample('voice-missed-call'))).toEqual(keys(sample('voice-missed-call')));
    expect(keys(sample('voice-missed-call')).callSid).not.toBe(keys(sample('voice-hung-up')).callSid);
  });
});

describe("a call's lead", () => {
  const config = demoConfig();
  const caller = '+821055501234';
  const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
  /** The capture of a voice event posted `minutes` after NOW. */
  const voiceCapture = (params: Params, minutes = 0, submissionId = `sub-${minutes}`) =>
    capture(captureTwilioVoice(params, { submissionId, receivedAt: at(minutes), source: KOREA })).capture;
  const { CallSid = '' } = sample('voice-voicemail');
  const status = voiceCapture({ ...sample('voice-hung-up'), CallSid, From: caller });
  /** The contact after the call's final status callback opened lead `sub-0`. */
  const profile = (conversations: Record<string, { leadId: string; lastAt: string }>): ContactProfile => ({
    contactId: 'contact-1',
    createdAt: NOW.toISOString(),
    ownerId: 'alice',
    conversations,
  });
  const afterCall = profile({ [`call:${CallSid}`]: { leadId: 'sub-0', lastAt: status.receivedAt } });

  it('opens a lead for the first event of a missed call, even with an open phone conversation', () => {
    expect(openConversation({ config, capture: status, contact: profile({}) })).toBeUndefined();
    const open = profile({ [`phone:${caller}`]: { leadId: 'answered-lead', lastAt: NOW.toISOString() } });
    expect(openConversation({ config, capture: status, contact: open })).toBeUndefined();
  });

  it('adds a recording that arrives after the status callback to the call’s own lead, urgent as it is', () => {
    const recording = voiceCapture(sample('voice-voicemail'), 3);
    expect(recording.urgent).toBe(true);
    expect(openConversation({ config, capture: recording, contact: afterCall })).toEqual({ leadId: 'sub-0' });
    // However late: the recording belongs to its call, not to a window.
    const days = config.channels.conversationWindowMinutes * 2;
    expect(
      openConversation({
        config,
        capture: voiceCapture(sample('voice-voicemail'), days),
        contact: afterCall,
      }),
    ).toEqual({
      leadId: 'sub-0',
    });
  });

  it('opens a new lead for a new missed call from the same number', () => {
    const sameNumber = voiceCapture({ ...sample('voice-missed-call'), From: caller }, 10);
    expect(sameNumber.conversationId).not.toBe(status.conversationId);
    expect(openConversation({ config, capture: sameNumber, contact: afterCall })).toBeUndefined();
  });

  it('lets an answered call continue the latest open lead of the phone or of a call, inside the window', () => {
    const callBack = voiceCapture(
      {
        ...sample('voice-hung-up'),
        Direction: 'outbound-api',
        From: '+14155552671',
        To: caller,
        AnsweredBy: 'human',
      },
      30,
    );
    expect(callBack).toMatchObject({ urgent: false, conversationId: `phone:${caller}` });
    const both = profile({
      [`phone:${caller}`]: { leadId: 'older-lead', lastAt: at(-60).toISOString() },
      [`call:${CallSid}`]: { leadId: 'sub-0', lastAt: status.receivedAt },
    });
    expect(openConversation({ config, capture: callBack, contact: both })).toEqual({ leadId: 'sub-0' });
    expect(openConversation({ config, capture: callBack, contact: afterCall })).toEqual({ leadId: 'sub-0' });
    const lateCallBack = {
      ...callBack,
      receivedAt: at(config.channels.conversationWindowMinutes + 1).toISOString(),
    };
    expect(openConversation({ config, capture: lateCallBack, contact: afterCall })).toBeUndefined();
  });

  it('never lets an SMS join a call’s lead', () => {
    const sms = capture(captureTwilioSms({ ...sample('sms-inbound'), From: caller }, context())).capture;
    expect(openConversation({ config, capture: sms, contact: afterCall })).toBeUndefined();
  });

  it('alerts the late recording as "Voicemail from …" with its link, and the call itself as a missed call', () => {
    const recording = voiceCapture(sample('voice-voicemail'), 3);
    const options = { leadLinkBaseUrl: 'https://crm.example.com/leads', manager: demoManager() };
    const notification = (kind: 'manager_alert' | 'message_alert', event: CaptureEvent): Notification => ({
      kind,
      notificationId: `${event.submissionId}:${kind}`,
      leadId: 'sub-0',
      contactId: 'contact-1',
      capture: event,
      assignment: {
        ownerId: 'alice',
        teamId: 'sales',
        rule: 'conversation',
        strategy: 'sticky_owner',
        reason: 'Returning contact: kept with their existing owner.',
      },
      returning: true,
    });
    expect(renderManagerAlert(notification('manager_alert', status), options).subject).toBe(
      `[URGENT] Missed call from ${caller}: call back`,
    );
    const update = renderManagerAlert(notification('message_alert', recording), options);
    expect(update.subject).toBe(`[URGENT] Voicemail from ${caller}`);
    expect(update.text).toContain(`Recording: ${recording.call?.recordingUrl}`);
    expect(update.html).toContain(`href="${recording.call?.recordingUrl}"`);
    // A later event of a call without a recording still reads as a call on the open lead.
    const answered = voiceCapture(sample('voice-completed-with-recording'), 5);
    const { recordingUrl: _none, ...withoutRecording } = answered.call ?? {
      sid: '',
      status: '',
      missed: false,
    };
    expect(
      renderManagerAlert(notification('message_alert', { ...answered, call: withoutRecording }), options)
        .subject,
    ).toMatch(/^Call with \+8210\d+ \(completed\) on an open lead$/);
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

  /** The <Record> action with the voicemail and the final status callback of the same call. */
  const voicemailCall = () => {
    const recording = sample('voice-voicemail');
    const status = {
      ...sample('voice-hung-up'),
      CallSid: recording.CallSid ?? '',
      From: recording.From ?? '',
    };
    return { recording, status };
  };

  it('stores a voicemail call once when its recording comes before the final status callback', async () => {
    const { recording, status } = voicemailCall();
    const { post, store, queued } = harness();
    for (const params of [recording, status, recording]) {
      const response = await post(VOICE_URL, params);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);
    }
    // The recording claimed the call; the status callback and the retried recording are replays of it.
    expect(store.size).toBe(1);
    expect(store.calls.map((call) => call.result?.replay)).toEqual([false, true, true]);
    // A replay re-queues the stored capture, which the router drops: one submission, one capture.
    expect(new Set(queued.map((event) => event.submissionId))).toEqual(new Set(['sub-1']));
    expect(queued[0]).toMatchObject({
      urgent: true,
      externalId: recording.RecordingSid,
      conversationId: `call:${recording.CallSid}`,
      call: { missed: true, recordingUrl: recording.RecordingUrl },
    });
  });

  it('stores a recording that comes after the final status callback as an update of the call', async () => {
    const { recording, status } = voicemailCall();
    const { post, store, queued } = harness();
    for (const params of [status, recording, recording, status]) {
      const response = await post(VOICE_URL, params);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(`${XML_DECLARATION}<Response/>`);
    }
    // Two submissions: the call (by CallSid) and its late recording (by RecordingSid); retries add none.
    expect(store.size).toBe(2);
    expect(store.calls.map((call) => [call.result?.submissionId, call.result?.replay])).toEqual([
      ['sub-1', false],
      ['sub-1', true],
      ['sub-2', false],
      ['sub-1', true],
      ['sub-2', true],
      ['sub-1', true],
    ]);
    const captures = new Map(queued.map((event) => [event.submissionId, event]));
    expect([...captures.keys()]).toEqual(['sub-1', 'sub-2']);
    expect(captures.get('sub-1')).toMatchObject({
      urgent: true,
      externalId: recording.CallSid,
      conversationId: `call:${recording.CallSid}`,
      call: { missed: true, status: 'completed' },
    });
    expect(captures.get('sub-1')?.call?.recordingUrl).toBeUndefined();
    // On the call's own conversation, so the router adds it to the call's lead.
    expect(captures.get('sub-2')).toMatchObject({
      urgent: true,
      externalId: recording.RecordingSid,
      conversationId: `call:${recording.CallSid}`,
      call: { missed: true, recordingUrl: recording.RecordingUrl },
    });
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
      conversationId: `call:${sample('voice-hung-up').CallSid}`,
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

  /** An SMS signed for `signedFor`, posted to `url` with the forwarded headers naming that host. */
  const viaProxy = (app: ReturnType<typeof harness>['app'], url: string, signedFor: string) => {
    const params = sample('sms-inbound');
    const { host, protocol } = new URL(signedFor);
    return app.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        'x-forwarded-proto': protocol.slice(0, -1),
        'x-forwarded-host': host,
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, signedFor, params),
      },
      body: new URLSearchParams(params).toString(),
    });
  };

  it('refuses a request Twilio signed for another host that names it in X-Forwarded-Host', async () => {
    const evil = 'https://evil.example/v1/webhooks/twilio/sms';
    for (const overrides of [
      {},
      { publicBaseUrl: undefined },
      { trustedProxyHeaders: ['x-forwarded-host', 'x-forwarded-proto'] },
    ]) {
      const { app, store, queued } = harness(overrides);
      const response = await viaProxy(app, 'https://api.example.com/v1/webhooks/twilio/sms', evil);
      expect(response.status, JSON.stringify(overrides)).toBe(403);
      expect(store.calls).toHaveLength(0);
      expect(queued).toHaveLength(0);
    }
  });

  it('verifies against the forwarded URL only when the trusted proxy headers name them', async () => {
    const signedFor = 'https://abc.ngrok.app/v1/webhooks/twilio/sms';
    const trusted = harness({
      publicBaseUrl: undefined,
      trustedProxyHeaders: ['x-forwarded-host', 'x-forwarded-proto'],
    });
    expect(
      (await viaProxy(trusted.app, 'http://localhost:3000/v1/webhooks/twilio/sms', signedFor)).status,
    ).toBe(200);
    expect(trusted.queued).toHaveLength(1);
    const hostOnly = harness({ publicBaseUrl: undefined, trustedProxyHeaders: ['x-forwarded-host'] });
    expect(
      (await viaProxy(hostOnly.app, 'http://localhost:3000/v1/webhooks/twilio/sms', signedFor)).status,
    ).toBe(403);
    // Without a base URL or a trusted header: the URL as this server received it.
    const local = harness({ publicBaseUrl: undefined });
    const params = sample('sms-inbound');
    const url = 'http://localhost:3000/v1/webhooks/twilio/sms';
    const response = await local.app.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, url, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(response.status).toBe(200);
    expect(local.queued).toHaveLength(1);
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
