import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { genericWebhookSignature, metaSignature, twilioSignature } from '@leadflow/core';
import { type LOCAL_SECRET_DEFAULTS, localSecrets } from './secrets';

const USAGE = `Prints the signature headers a provider would send, for the local secrets (or the env's).

  npm run -s sign -- twilio  --url <full url> [--param Name=value …] [--params-file event.json]
  npm run -s sign -- generic --source <id> (--body '<json>' | --body-file file) [--timestamp <unix s>]
  npm run -s sign -- meta    (--body '<json>' | --body-file file)

Add --curl to print "-H Name:value" arguments to splice into a curl command line.
Secrets: TWILIO_AUTH_TOKEN, GENERIC_WEBHOOK_SECRETS (JSON by source id), META_APP_SECRET;
unset, the defaults npm start uses.`;

export type Header = readonly [name: string, value: string];

/** Computes the headers for `args` (the command line after `sign`); throws a usage message on bad input. */
export function signatureHeaders(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): Header[] {
  const { positionals, values } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      param: { type: 'string', multiple: true, default: [] },
      'params-file': { type: 'string' },
      source: { type: 'string' },
      body: { type: 'string' },
      'body-file': { type: 'string' },
      timestamp: { type: 'string' },
      curl: { type: 'boolean', default: false },
    },
  });
  const secret = (name: keyof typeof LOCAL_SECRET_DEFAULTS) => localSecrets(env)[name];
  const body = () => {
    if (values.body !== undefined) return values.body;
    if (values['body-file'] !== undefined) return readFileSync(values['body-file']);
    throw new Error('Give the exact body with --body or --body-file.');
  };

  switch (positionals[0]) {
    case 'twilio': {
      if (!values.url) throw new Error('Give the full URL Twilio calls with --url.');
      const params: Record<string, string> = values['params-file']
        ? JSON.parse(readFileSync(values['params-file'], 'utf8'))
        : {};
      for (const pair of values.param) {
        const at = pair.indexOf('=');
        if (at <= 0) throw new Error(`--param takes Name=value, not ${pair}`);
        params[pair.slice(0, at)] = pair.slice(at + 1);
      }
      return [['X-Twilio-Signature', twilioSignature(secret('TWILIO_AUTH_TOKEN'), values.url, params)]];
    }
    case 'generic': {
      if (!values.source) throw new Error('Give the source id with --source (e.g. callcenter).');
      const secrets = JSON.parse(secret('GENERIC_WEBHOOK_SECRETS')) as Record<string, string>;
      const key = secrets[values.source];
      if (!key) throw new Error(`GENERIC_WEBHOOK_SECRETS has no secret for ${values.source}.`);
      const timestamp = values.timestamp ?? String(Math.floor(now.getTime() / 1000));
      return [
        ['X-Leadflow-Timestamp', timestamp],
        ['X-Leadflow-Signature', `v1=${genericWebhookSignature(key, timestamp, body())}`],
      ];
    }
    case 'meta':
      return [['X-Hub-Signature-256', metaSignature(body(), secret('META_APP_SECRET'))]];
    default:
      throw new Error(USAGE);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const args = process.argv.slice(2);
    const headers = signatureHeaders(args);
    // No value contains a space, so "-H Name:value" splices into a shell command unquoted.
    console.log(
      args.includes('--curl')
        ? headers.map(([name, value]) => `-H ${name}:${value}`).join(' ')
        : headers.map(([name, value]) => `${name}: ${value}`).join('\n'),
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  }
}
