import {
  bodyKind,
  captureTwilioSms,
  captureTwilioVoice,
  ForbiddenError,
  MalformedBodyError,
  NotFoundError,
  parseTwilioForm,
  publicRequestUrl,
  smsReplyTwiml,
  type TelephonyCaptureContext,
  type TwilioOutcome,
  type TwilioParams,
  twiml,
  UnsupportedMediaTypeError,
  verifyTwilioSignature,
  voicemailThanksTwiml,
  voicemailTwiml,
} from '@leadflow/core';
import { acceptCapture, naturalKey } from '@leadflow/door';
import { type Context, Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { limitBody, usableChannel } from '../middleware';

const VOICE_PATH = '/v1/webhooks/twilio/voice';
const SMS_PATH = '/v1/webhooks/twilio/sms';

/**
 * Twilio Programmable Voice and Messaging webhooks. Every request is verified with
 * X-Twilio-Signature against the public URL before anything is read into a capture; the answer is
 * TwiML. Without a Twilio auth token or a `channels.twilio` configuration, the routes do not exist (404).
 */
export function twilioRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  const clock = deps.clock ?? (() => new Date());
  const limit = limitBody();

  // Before the body is read: an unconfigured channel does not exist (404); a malformed secret makes it 503.
  app.use('/v1/webhooks/twilio/*', async (_c, next) => {
    usableChannel(
      deps,
      'twilio',
      { source: deps.config.channels.twilio, secret: deps.secrets?.twilioAuthToken },
      'The Twilio channel',
    );
    await next();
  });

  /** The channel's settings, the verified parameters, and the context a capture is built with. */
  async function verified(c: Context) {
    const authToken = deps.secrets?.twilioAuthToken;
    const source = deps.config.channels.twilio;
    if (!authToken || !source) throw new NotFoundError('The Twilio channel is not configured.');
    if (bodyKind(c.req.header('content-type')) !== 'urlencoded') {
      throw new UnsupportedMediaTypeError('Twilio webhooks are application/x-www-form-urlencoded.');
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await c.req.arrayBuffer());
    } catch (cause) {
      throw new MalformedBodyError('The body is not valid UTF-8.', [], { cause });
    }
    const params: TwilioParams = parseTwilioForm(text);
    const url = publicRequestUrl(c.req.raw, {
      publicBaseUrl: deps.publicBaseUrl,
      trustedProxyHeaders: deps.trustedProxyHeaders,
    });
    if (!verifyTwilioSignature(authToken, c.req.header('x-twilio-signature'), url, params)) {
      throw new ForbiddenError('The X-Twilio-Signature header is missing or does not match this request.');
    }
    const context: TelephonyCaptureContext = { submissionId: deps.newId(), receivedAt: clock(), source };
    return { params, context, source };
  }

  app.post(VOICE_PATH, limit, async (c) => {
    const { params, context } = await verified(c);
    const outcome = captureTwilioVoice(params, context);
    if (outcome.kind === 'capture') {
      await acceptCallEvent(deps, outcome);
    } else {
      const status = outcome.kind === 'no_caller' ? 'no_caller_id' : `voice_${outcome.stage.stage}`;
      deps.observe?.({ outcome: status, source: 'twilio-voice', status: 200 });
    }
    const { stage } = outcome;
    // The <Record> action of our voicemail comes back while the caller may still be on the line.
    const recordedVoicemail =
      stage.stage === 'missed' && stage.reason === 'voicemail' && params.CallStatus === 'in-progress';
    return xml(
      c,
      stage.stage === 'incoming' ? voicemailTwiml() : recordedVoicemail ? voicemailThanksTwiml() : twiml(),
    );
  });

  app.post(SMS_PATH, limit, async (c) => {
    const { params, context, source } = await verified(c);
    const outcome = captureTwilioSms(params, context);
    if (outcome.kind === 'no_caller') {
      deps.observe?.({ outcome: 'no_caller_id', source: 'twilio-sms', status: 200 });
      return xml(c, twiml());
    }
    const stored = await acceptCapture(
      deps,
      outcome.capture,
      naturalKey('sms', outcome.externalId),
      'twilio-sms',
    );
    // Only the first delivery replies: a retried webhook must not text the person twice.
    return xml(c, stored.replay ? twiml() : smsReplyTwiml(source.smsAutoReply));
  });

  return app;
}

/**
 * Stores a final voice event. The first final event of a call (the final status callback, a <Dial>
 * action, the voicemail recording) claims the call's CallSid and stands for the call: its lead, or its
 * answered-call entry. A later event of the call is a replay that adds nothing, unless it brings a
 * recording the call's first event did not: then it is stored under its RecordingSid, and the router
 * adds it to the call's lead as an update. A retry of that recording is a replay of it.
 */
async function acceptCallEvent(
  deps: IngestDeps,
  outcome: Extract<TwilioOutcome, { kind: 'capture' }>,
): Promise<void> {
  const { capture, externalId, callSid } = outcome;
  const call = await acceptCapture(deps, capture, naturalKey(capture.channel, callSid), 'twilio-voice');
  const lateRecording = call.replay && externalId !== callSid && call.capture.externalId !== externalId;
  if (lateRecording) {
    await acceptCapture(deps, capture, naturalKey(capture.channel, externalId), 'twilio-voice');
  }
}

function xml(c: Context, body: string): Response {
  return c.body(body, 200, { 'content-type': 'text/xml; charset=utf-8' });
}
