import { createHmac } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ChannelSecrets, loadChannelSecrets, secretProblem } from '@leadflow/aws';
import { type CaptureEvent, LeadflowConfig } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { createIngestApp } from '../../functions/ingest/app';
import { loadEvent } from '../support/events';
import { FakeSubmissionStore, rawDemoConfig, sequentialIds } from './support';

const GOOD = {
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-0001',
  META_APP_SECRET: 'meta-app-secret-0001',
  META_VERIFY_TOKEN: 'meta-verify-token-0001',
  TELEGRAM_SECRET_TOKEN: 'telegram_secret-0001',
  GENERIC_WEBHOOK_SECRETS: '{"callcenter":"callcenter-secret-0001","tracker":"tracker-secret-00001"}',
  FORM_SECRETS: '{"demo-backend":{"keys":["demo-backend-form-key-000001"]}}',
};
const BAD_TELEGRAM = 'has a space-0001';

/** A real Secrets Manager client whose one call answers `secretString` (or fails), never the network. */
function secretsManager(secretString: string | Error) {
  const requests: unknown[] = [];
  let destroyed = false;
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      requests.push({ command: context.commandName, input: args.input });
      if (secretString instanceof Error) throw secretString;
      return { output: { SecretString: secretString, $metadata: {} }, response: {} };
    },
    { step: 'initialize', name: 'fakeSecretsManager' },
  );
  const destroy = client.destroy.bind(client);
  client.destroy = () => {
    destroyed = true;
    destroy();
  };
  return { factory: () => client, requests, destroyed: () => destroyed };
}

const ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:leadflow-channels-AbCdEf';

describe('loadChannelSecrets from environment variables', () => {
  it('loads every channel, with nothing disabled', async () => {
    const secrets = await loadChannelSecrets(GOOD);
    expect(secrets).toEqual({
      twilioAuthToken: GOOD.TWILIO_AUTH_TOKEN,
      metaAppSecret: GOOD.META_APP_SECRET,
      metaVerifyToken: GOOD.META_VERIFY_TOKEN,
      telegramSecretToken: GOOD.TELEGRAM_SECRET_TOKEN,
      generic: { callcenter: 'callcenter-secret-0001', tracker: 'tracker-secret-00001' },
      forms: { 'demo-backend': { keys: ['demo-backend-form-key-000001'] } },
      disabled: {},
    });
  });

  it('treats unset and empty variables as channels that are off, not broken', async () => {
    const secrets = await loadChannelSecrets({ TELEGRAM_SECRET_TOKEN: '', GENERIC_WEBHOOK_SECRETS: '' });
    expect(secrets).toEqual({ generic: {}, disabled: {} });
    expect(secretProblem(secrets, 'telegram')).toBeUndefined();
  });

  it('leaves out a malformed Telegram token and says why, without the value; the others load', async () => {
    const secrets = await loadChannelSecrets({ ...GOOD, TELEGRAM_SECRET_TOKEN: BAD_TELEGRAM });
    expect(secrets.telegramSecretToken).toBeUndefined();
    expect(secrets.disabled).toEqual({
      telegram: 'TELEGRAM_SECRET_TOKEN: Telegram allows 1-256 of A-Z a-z 0-9 _ -',
    });
    expect(secretProblem(secrets, 'telegram')).toBe(secrets.disabled?.telegram);
    expect(secrets.twilioAuthToken).toBe(GOOD.TWILIO_AUTH_TOKEN);
    expect(secrets.metaAppSecret).toBe(GOOD.META_APP_SECRET);
    expect(secrets.generic.callcenter).toBe('callcenter-secret-0001');
    expect(secrets.forms?.['demo-backend']?.keys).toHaveLength(1);
    for (const channel of ['twilio', 'meta', 'generic/callcenter', 'forms/demo-backend'] as const) {
      expect(secretProblem(secrets, channel)).toBeUndefined();
    }
  });

  it('disables only the generic source whose secret is too short', async () => {
    const secrets = await loadChannelSecrets({
      ...GOOD,
      GENERIC_WEBHOOK_SECRETS: '{"callcenter":"short-1","tracker":"tracker-secret-00001"}',
    });
    expect(secrets.generic).toEqual({ tracker: 'tracker-secret-00001' });
    expect(secrets.disabled).toEqual({
      'generic/callcenter':
        'GENERIC_WEBHOOK_SECRETS.callcenter: a generic webhook secret needs at least 16 characters',
    });
    expect(secretProblem(secrets, 'generic/tracker')).toBeUndefined();
  });

  it('disables every generic source when GENERIC_WEBHOOK_SECRETS is not JSON, without quoting it', async () => {
    const text = '{"callcenter":"callcenter-secret-0001",}';
    const secrets = await loadChannelSecrets({ ...GOOD, GENERIC_WEBHOOK_SECRETS: text });
    expect(secrets.generic).toEqual({});
    expect(secrets.disabled).toEqual({ generic: 'GENERIC_WEBHOOK_SECRETS is not valid JSON' });
    expect(secretProblem(secrets, 'generic/callcenter')).toBe('GENERIC_WEBHOOK_SECRETS is not valid JSON');
    expect(secretProblem(secrets, 'generic/anything')).toBeDefined();
    expect(secrets.telegramSecretToken).toBe(GOOD.TELEGRAM_SECRET_TOKEN);
    expect(secrets.forms?.['demo-backend']).toBeDefined();
  });

  it('disables every generic source when the JSON is not an object by source id', async () => {
    const secrets = await loadChannelSecrets({
      ...GOOD,
      GENERIC_WEBHOOK_SECRETS: '["callcenter-secret-0001"]',
    });
    expect(secrets.disabled).toEqual({
      generic: 'GENERIC_WEBHOOK_SECRETS: must be a JSON object by source id',
    });
  });

  it("disables only the form whose key is malformed, keeping the other forms' secrets", async () => {
    const secrets = await loadChannelSecrets({
      ...GOOD,
      FORM_SECRETS: JSON.stringify({
        'demo-backend': { keys: ['too-short-key'] },
        'demo-captcha': { captchaSecret: 'captcha-secret' },
      }),
    });
    expect(secrets.forms).toEqual({ 'demo-captcha': { keys: [], captchaSecret: 'captcha-secret' } });
    expect(secrets.disabled).toEqual({
      'forms/demo-backend': 'FORM_SECRETS.demo-backend.keys.0: a form key needs at least 24 characters',
    });
    expect(secretProblem(secrets, 'forms/demo-backend')).toBeDefined();
    expect(secretProblem(secrets, 'forms/demo-captcha')).toBeUndefined();
  });

  it('disables every form when FORM_SECRETS is not JSON', async () => {
    const secrets = await loadChannelSecrets({ ...GOOD, FORM_SECRETS: '{demo-backend' });
    expect(secrets.forms).toBeUndefined();
    expect(secretProblem(secrets, 'forms/demo-backend')).toBe('FORM_SECRETS is not valid JSON');
    expect(secrets.generic.callcenter).toBeDefined();
  });
});

describe('loadChannelSecrets from the Secrets Manager secret', () => {
  it('reads the secret named by CHANNEL_SECRETS_ARN once and destroys its client; empty values are unset', async () => {
    const fake = secretsManager(
      JSON.stringify({ twilioAuthToken: 'twilio-auth-token-0001', metaAppSecret: '', generic: {} }),
    );
    const secrets = await loadChannelSecrets({ CHANNEL_SECRETS_ARN: ARN, ...GOOD }, fake.factory);
    // The environment's secrets are not read when the ARN is set.
    expect(secrets).toEqual({ twilioAuthToken: 'twilio-auth-token-0001', generic: {}, disabled: {} });
    expect(fake.requests).toEqual([{ command: 'GetSecretValueCommand', input: { SecretId: ARN } }]);
    expect(fake.destroyed()).toBe(true);
  });

  it('names the key of a malformed value, and a channel with one bad secret is off as a whole', async () => {
    const fake = secretsManager(
      JSON.stringify({
        telegramSecretToken: BAD_TELEGRAM,
        metaAppSecret: 12345,
        metaVerifyToken: 'meta-verify-token-0001',
        twilioAuthToken: 'twilio-auth-token-0001',
      }),
    );
    const secrets = await loadChannelSecrets({ CHANNEL_SECRETS_ARN: ARN }, fake.factory);
    expect(secrets).toEqual({
      twilioAuthToken: 'twilio-auth-token-0001',
      generic: {},
      disabled: {
        telegram: 'CHANNEL_SECRETS_ARN key telegramSecretToken: Telegram allows 1-256 of A-Z a-z 0-9 _ -',
        meta: 'CHANNEL_SECRETS_ARN key metaAppSecret: Invalid input: expected string, received number',
      },
    });
  });

  it('disables every channel the secret covers when it is not JSON, and never quotes it', async () => {
    const text = '{"twilioAuthToken":"twilio-auth-token-0001" "telegramSecretToken":"x"}';
    const secrets = await loadChannelSecrets({ CHANNEL_SECRETS_ARN: ARN }, secretsManager(text).factory);
    expect(secrets.twilioAuthToken).toBeUndefined();
    const problem = 'the secret CHANNEL_SECRETS_ARN is not valid JSON';
    for (const channel of [
      'twilio',
      'meta',
      'telegram',
      'generic/callcenter',
      'forms/demo-backend',
    ] as const) {
      expect(secretProblem(secrets, channel)).toBe(problem);
    }
    expect(JSON.stringify(secrets)).not.toContain('twilio-auth-token-0001');
  });

  it('still fails init when the secret cannot be read at all, so Lambda retries the cold start', async () => {
    const fake = secretsManager(new Error('AccessDeniedException'));
    await expect(loadChannelSecrets({ CHANNEL_SECRETS_ARN: ARN }, fake.factory)).rejects.toThrow(
      'AccessDeniedException',
    );
    expect(fake.destroyed()).toBe(true);
  });

  it('never puts a secret value into a problem, whatever is malformed', async () => {
    const values = ['short 1', 'x y', '\u0000abc', 'ünïcode'];
    for (const value of values) {
      const secrets = await loadChannelSecrets({
        TELEGRAM_SECRET_TOKEN: value,
        GENERIC_WEBHOOK_SECRETS: JSON.stringify({ callcenter: value }),
        FORM_SECRETS: JSON.stringify({ 'demo-backend': { keys: [value], captchaSecret: value } }),
      });
      expect(Object.keys(secrets.disabled ?? {})).toHaveLength(3);
      for (const problem of Object.values(secrets.disabled ?? {})) expect(problem).not.toContain(value);
    }
  });
});

describe('a channel whose secret is malformed, through the ingest app', () => {
  const NOW = new Date('2025-06-01T09:30:00.000Z');

  /** The demo config plus a second generic source, and secrets as the loader returned them. */
  function harness(secrets: ChannelSecrets, channels: { telegram?: boolean } = {}) {
    const raw = rawDemoConfig();
    raw.channels = {
      ...raw.channels,
      generic: [
        ...(raw.channels?.generic ?? []),
        { id: 'tracker', name: 'Call tracker', teamId: 'sales', defaultRegion: 'TH', channel: 'phone_call' },
      ],
      ...(channels.telegram === false ? { telegram: undefined } : {}),
    };
    const store = new FakeSubmissionStore();
    const queued: CaptureEvent[] = [];
    const app = createIngestApp({
      config: new LeadflowConfig(raw),
      store: store.store,
      enqueue: async (capture) => {
        queued.push(capture);
      },
      countSpam: async () => undefined,
      newId: sequentialIds('sub'),
      clock: () => NOW,
      secrets,
    });
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const generic = (id: string, secret: string) => {
      const body = JSON.stringify(loadEvent('generic/missed-call.json'));
      const timestamp = String(NOW.getTime() / 1000);
      const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
      return post(`/v1/webhooks/generic/${id}`, body, {
        'x-leadflow-timestamp': timestamp,
        'x-leadflow-signature': `v1=${signature}`,
      });
    };
    return { app, store, queued, post, generic };
  }

  const lead = JSON.stringify({ name: 'Kim Minsu', email: 'kim.minsu@example.com', consent: true });
  const telegramUpdate = JSON.stringify(loadEvent('telegram/message.json'));

  it('answers 503 channel_unavailable for Telegram while forms still answer 202', async () => {
    const secrets = await loadChannelSecrets({ ...GOOD, TELEGRAM_SECRET_TOKEN: BAD_TELEGRAM });
    const { post, store, queued } = harness(secrets);

    for (const token of [BAD_TELEGRAM, GOOD.TELEGRAM_SECRET_TOKEN]) {
      const telegram = await post('/v1/webhooks/telegram', telegramUpdate, {
        'x-telegram-bot-api-secret-token': token,
      });
      expect(telegram.status).toBe(503);
      const body = (await telegram.json()) as { error: string; message: string };
      expect(body).toMatchObject({ error: 'channel_unavailable' });
      // The caller learns the channel is down, never why or with what value.
      expect(body.message).not.toContain('TELEGRAM_SECRET_TOKEN');
      expect(JSON.stringify(body)).not.toContain(BAD_TELEGRAM);
    }
    expect(store.calls).toHaveLength(0);

    const form = await post('/v1/forms/demo-contact', lead);
    expect(form.status).toBe(202);
    expect(queued.map((capture) => capture.channel)).toEqual(['web_form']);
  });

  it('answers 503 for Twilio and Meta with a malformed secret, before reading the body', async () => {
    const fake = secretsManager(JSON.stringify({ twilioAuthToken: 42, metaVerifyToken: ['x'] }));
    const secrets = await loadChannelSecrets({ CHANNEL_SECRETS_ARN: ARN }, fake.factory);
    const { app, post } = harness(secrets);
    expect((await post('/v1/webhooks/twilio/sms', 'Body=Hi')).status).toBe(503);
    expect((await post('/v1/webhooks/twilio/voice', 'CallSid=CA1')).status).toBe(503);
    expect((await post('/v1/webhooks/meta', '{}')).status).toBe(503);
    const handshake = await app.request('/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=x');
    expect(handshake.status).toBe(503);
    expect(((await handshake.json()) as { error: string }).error).toBe('channel_unavailable');
  });

  it('answers 503 only for the generic source whose secret is malformed', async () => {
    const secrets = await loadChannelSecrets({
      GENERIC_WEBHOOK_SECRETS: '{"callcenter":"short-1","tracker":"tracker-secret-00001"}',
    });
    const { generic, queued } = harness(secrets);
    expect((await generic('callcenter', 'short-1')).status).toBe(503);
    expect((await generic('tracker', 'tracker-secret-00001')).status).toBe(202);
    expect(queued.map((capture) => capture.sourceId)).toEqual(['tracker']);
  });

  it('still answers 404 for a channel that is simply not configured', async () => {
    const unset = harness(await loadChannelSecrets({}));
    expect((await unset.post('/v1/webhooks/telegram', telegramUpdate)).status).toBe(404);
    expect((await unset.generic('callcenter', 'callcenter-secret-0001')).status).toBe(404);
    // A malformed secret for a channel the configuration does not have: it does not exist.
    const noChannel = harness(await loadChannelSecrets({ TELEGRAM_SECRET_TOKEN: BAD_TELEGRAM }), {
      telegram: false,
    });
    const response = await noChannel.post('/v1/webhooks/telegram', telegramUpdate);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe('not_found');
  });
});
