import { parseArgs } from 'node:util';
import { config } from '../config';
import { findLocalUser, localIssuerUrl, localUsers, signLocalToken } from './issuer';

/**
 * `npm run -s token -- <user> [--expires-in 15m] [--port 3000] [--dir .local/issuer]`: prints an access
 * token of the local issuer for a seeded user, and nothing else, so `$(npm run -s token -- alice)` works.
 */
const USAGE =
  'Usage: npm run -s token -- <user> [--expires-in <seconds|90s|15m|2h>] [--port <port>] [--dir <key folder>]';
/** Cognito's longest access-token validity; local tokens keep to it too. */
const MAX_SECONDS = 24 * 60 * 60;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** `3600`, `90s`, `15m`, `2h` or `1d` as seconds; undefined when it is none of those. */
function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Number(match[1]) * unit;
}

/** The command line, or a usage message and exit code 2. */
function readArgs() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        'expires-in': { type: 'string', default: '1h' },
        port: { type: 'string', default: process.env.PORT ?? '3000' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

const { values, positionals } = readArgs();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const seeded = localUsers(config)
  .map((user) => `  ${user.username.padEnd(20)} ${user.groups.join(', ')}`)
  .join('\n');
const [name] = positionals;
if (!name || positionals.length > 1) fail(`${USAGE}\n\nSeeded users:\n${seeded}`);
const user = findLocalUser(config, name);
if (!user) fail(`Unknown user "${name}". Seeded users (a manager id, their email, or the admin):\n${seeded}`);

const expiresInSeconds = parseDuration(values['expires-in']);
if (expiresInSeconds === undefined || expiresInSeconds < 1 || expiresInSeconds > MAX_SECONDS) {
  fail(`--expires-in must be 1 s to 24 h, as 3600, 90s, 15m or 2h (got "${values['expires-in']}").`);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65_535)
  fail(`--port must be a TCP port (got "${values.port}").`);

const token = await signLocalToken({
  username: user.username,
  groups: user.groups,
  expiresInSeconds,
  issuer: localIssuerUrl(port),
  dir: values.dir,
});
process.stdout.write(`${token}\n`);
