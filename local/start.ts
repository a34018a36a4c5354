import { parseArgs } from 'node:util';
import { env } from '@leadflow/aws/resources';
import { config } from '../config';
import { localUsers } from './issuer';
import { startLocalSystem } from './system';

/** `npm start`: the whole system on this machine, in one terminal, until Ctrl-C. */
const { values } = parseArgs({
  options: {
    persist: { type: 'boolean', default: false },
    'data-dir': { type: 'string', default: '.local/data' },
  },
});

const port = Number(process.env.PORT ?? 3000);
const started = performance.now();
const system = await startLocalSystem({
  port,
  dynamoPort: Number(process.env.DYNAMODB_PORT ?? 8000),
  sqsPort: Number(process.env.SQS_PORT ?? 4566),
  sesPort: Number(process.env.SES_PORT ?? 8005),
  smtpPort: Number(process.env.SMTP_PORT ?? 2525),
  dataDir: values.persist || process.env.LEADFLOW_PERSIST === 'true' ? values['data-dir'] : undefined,
  log: (line) => console.error(line),
});

console.log(
  `leadflow ready in ${Math.round(performance.now() - started)} ms · API ${system.urls.api} · mailbox ${system.urls.mailbox} · DynamoDB ${system.urls.dynamodb} · SQS/S3 ${system.urls.sqs} · SMTP ${system.urls.smtp} · Ctrl-C stops everything`,
);
const portFlag = port === 3000 ? '' : ` --port ${port}`;
console.log(
  `Managers' API: TOKEN=$(npm run -s token -- alice${portFlag}); curl -H "Authorization: Bearer $TOKEN" ${system.urls.api}/v1/me · users: ${localUsers(
    config,
  )
    .map((user) => user.username)
    .join(', ')} · issuer ${system.issuer.url}`,
);
console.log(`Managers' console: ${system.urls.api}/console/leads (sign in as any seeded user)`);

// SLA_TIME_SCALE (system.ts passes it to the handlers): say so when the clock runs faster than real.
const slaTimeScale = Number(system.env[env.slaTimeScale] ?? 1);
if (slaTimeScale !== 1) {
  console.log(
    `SLA_TIME_SCALE ${slaTimeScale}: every SLA, escalation, follow-up and reminder delay is ×${slaTimeScale} (an urgent lead's 2 minutes take ${(120 * slaTimeScale).toFixed(1)} s)`,
  );
}

let stopping = false;
function shutdown(reason: string): void {
  if (stopping) return;
  stopping = true;
  console.log(`\n${reason}: stopping…`);
  system.stop().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
// If whatever started us (npm, a shell) dies without passing a signal on, we are re-parented: stop too,
// so no emulator is left holding its port.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown('parent exited');
}, 1000).unref();
