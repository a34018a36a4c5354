import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { bundling, env, functions } from '@leadflow/aws/resources';
import { build } from 'esbuild';
import { freePort, startLocalSystem } from './system';

/**
 * `npm run bench`: boots a fresh copy of the local system (the code `npm start` runs, on free ports),
 * sends N form leads at a fixed rate, and prints speed-to-alert percentiles against the floor of the
 * same raw service calls, throughput, and each function's bundle size and cold init.
 */
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    rate: { type: 'string', default: '10' },
    floor: { type: 'string', default: '200' },
    'init-runs': { type: 'string', default: '5' },
  },
});
const count = Number(values.count);
const rate = Number(values.rate);

interface Tap {
  readonly url: string;
  /** Lead name → time SES answered 200 to the manager alert. */
  readonly alerts: Map<string, number>;
  close(): Promise<void>;
}

/** A pass-through proxy in front of the SES emulator that notes when each alert is accepted. */
async function startSesTap(target: number): Promise<Tap> {
  const alerts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = httpRequest(
        { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            if (answer.statusCode === 200) {
              const subject = /"Data":"New lead: (bench-[^"]+?) via/.exec(body.toString('utf8'))?.[1];
              if (subject && !alerts.has(subject)) alerts.set(subject, performance.now());
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(parts));
          });
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${port}`,
    alerts,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

async function measureLeads(api: string, tap: Tap) {
  const sentAt = new Map<string, number>();
  const accepted: number[] = [];
  const failures: number[] = [];
  const interval = 1000 / rate;
  const start = performance.now();
  const posts: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    const name = `bench-${i}-${randomUUID().slice(0, 6)}`;
    const postedAt = performance.now();
    posts.push(
      fetch(`${api}/v1/forms/demo-contact`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          email: `${name}@example.com`,
          message: 'Benchmark lead',
          consent: true,
        }),
      }).then(async (response) => {
        await response.arrayBuffer();
        if (response.status === 202) {
          const at = performance.now();
          sentAt.set(name, at);
          accepted.push(at - postedAt);
        } else failures.push(response.status);
      }),
    );
  }
  await Promise.all(posts);
  const deadline = performance.now() + 30_000;
  while (tap.alerts.size < sentAt.size && performance.now() < deadline)
    await new Promise((done) => setTimeout(done, 20));
  const latencies = [...sentAt].flatMap(([name, at]) => {
    const alerted = tap.alerts.get(name);
    return alerted === undefined ? [] : [alerted - at];
  });
  const lastAlert = Math.max(...tap.alerts.values());
  return {
    latencies,
    accepted,
    failures,
    missing: sentAt.size - latencies.length,
    seconds: (lastAlert - start) / 1000,
  };
}

/** The same four calls a lead needs (put, send, receive, SES send), made directly and in sequence. */
async function measureFloor(
  urls: { dynamodb: string; sqs: string; mailbox: string },
  tableName: string,
  n: number,
) {
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const region = 'us-east-1';
  const dynamo = new DynamoDBClient({ endpoint: urls.dynamodb, region, credentials });
  const sqs = new SQSClient({ endpoint: urls.sqs, region, credentials, useQueueUrlAsEndpoint: false });
  const ses = new SESv2Client({ endpoint: urls.mailbox, region, credentials });
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: 'bench-floor.fifo', Attributes: { FifoQueue: 'true' } }),
  );
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const started = performance.now();
    await dynamo.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: `BENCH#${id}` }, sk: { S: 'BENCH' }, body: { S: 'x' } },
      }),
    );
    await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: id, MessageGroupId: id, MessageDeduplicationId: id }),
    );
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 1 }),
    );
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'floor@example.com',
        Destination: { ToAddresses: ['floor@example.com'] },
        Content: { Simple: { Subject: { Data: 'floor' }, Body: { Text: { Data: 'floor' } } } },
      }),
    );
    samples.push(performance.now() - started);
    const handle = Messages?.[0]?.ReceiptHandle;
    if (handle) await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: handle }));
  }
  dynamo.destroy();
  sqs.destroy();
  ses.destroy();
  return samples;
}

/** Bundles each function as deployed and times a cold `import()` in a fresh Node process. */
async function measureBundles(runs: number) {
  const outDir = resolve('.local/bench');
  mkdirSync(outDir, { recursive: true });
  const rows = [];
  for (const [name, definition] of Object.entries(functions)) {
    const outfile = join(outDir, name, 'index.mjs');
    await build({
      entryPoints: [definition.entry],
      outfile,
      bundle: true,
      format: bundling.format,
      platform: bundling.platform,
      target: bundling.target,
      minify: bundling.minify,
      sourcemap: bundling.sourceMap,
      sourcesContent: bundling.sourcesContent,
      mainFields: [...bundling.mainFields],
      banner: { js: bundling.banner },
      logLevel: 'silent',
    });
    const inits: number[] = [];
    for (let i = 0; i < runs; i++) {
      const script = `const t=performance.now();await import(${JSON.stringify(outfile)});process.stdout.write(String(performance.now()-t));`;
      const result = spawnSync(
        process.execPath,
        ['--enable-source-maps', '--input-type=module', '-e', script],
        {
          env: {
            PATH: process.env.PATH,
            AWS_REGION: 'us-east-1',
            [env.tableName]: 'bench',
            [env.leadsQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench.fifo',
            [env.notificationsQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench',
            [env.sesFromAddress]: 'leads@example.com',
            [env.leadLinkBaseUrl]: 'https://crm.example.com/leads',
            [env.rawMailBucket]: 'bench-raw-mail',
            [env.authIssuer]: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench',
            [env.authJwksUrl]:
              'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench/.well-known/jwks.json',
            [env.authClientId]: 'bench',
            [env.timersQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-timers',
            [env.deliveriesQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-deliveries',
            // The notifier and the api function read the link key at init (AWS: LINK_SECRET_ARN).
            [env.linkSecret]: 'bench-link-secret-0123456789abcdefghij',
          },
          encoding: 'utf8',
        },
      );
      if (result.status !== 0) throw new Error(`Loading the ${name} bundle failed: ${result.stderr}`);
      inits.push(Number(result.stdout));
    }
    rows.push({ name, kib: statSync(outfile).size / 1024, init: stats(inits).p50 });
  }
  return rows;
}

const sesPort = await freePort();
const tap = await startSesTap(sesPort);
const batches: { functionName: string; records: number; ms: number }[] = [];
const system = await startLocalSystem({
  port: 0,
  sesPort,
  sesEndpoint: tap.url,
  pollWaitSeconds: 20,
  // One address sends every lead: a limit no run reaches keeps the per-client counter on the measured path.
  rateLimitPerClient: 1_000_000,
  onBatch: (batch) => batches.push(batch),
});
try {
  // Warm every path once so the figures are steady state, not the first import.
  await fetch(`${system.urls.api}/v1/forms/demo-contact`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench-warmup', email: 'bench-warmup@example.com', consent: true }),
  });
  while (!tap.alerts.has('bench-warmup')) await new Promise((done) => setTimeout(done, 20));
  tap.alerts.clear();
  batches.length = 0;

  console.log(
    `leadflow bench: ${count} form leads at ${rate}/s through the local system (Node ${process.version})`,
  );
  const leads = await measureLeads(system.urls.api, tap);
  const lead = stats(leads.latencies);
  const floor = stats(await measureFloor(system.urls, system.tableName, Number(values.floor)));
  console.log('\n202 → manager alert accepted by SES');
  console.log(
    `  leads     ${leads.latencies.length} alerted, ${leads.failures.length} rejected, ${leads.missing} not alerted in 30 s`,
  );
  console.log(`  p50 ${ms(lead.p50)}   p95 ${ms(lead.p95)}   p99 ${ms(lead.p99)}   max ${ms(lead.max)}`);
  // The door's own time (limit check, validation, store, enqueue) comes before the 202, so it is apart.
  const door = stats(leads.accepted);
  console.log('\nPOST → 202 at the door (per-client limit, validation, store, enqueue)');
  console.log(`  p50 ${ms(door.p50)}   p95 ${ms(door.p95)}   p99 ${ms(door.p99)}   max ${ms(door.max)}`);
  console.log('\nfloor: put + send + receive + SES send, direct and sequential');
  console.log(`  p50 ${ms(floor.p50)}   p95 ${ms(floor.p95)}   p99 ${ms(floor.p99)}`);
  console.log(`  our p99 / floor p99 = ${(lead.p99 / floor.p99).toFixed(2)}×`);
  console.log('\nwhere the time goes: local Lambda invocations per function');
  for (const name of ['router', 'notifier']) {
    const mine = batches.filter((batch) => batch.functionName === name);
    const size = mine.reduce((sum, batch) => sum + batch.records, 0) / Math.max(1, mine.length);
    const took = stats(mine.map((batch) => batch.ms));
    const perRecord = stats(mine.map((batch) => batch.ms / batch.records));
    console.log(
      `  ${name.padEnd(12)} ${String(mine.length).padStart(4)} batches of ${size.toFixed(1)} records; batch p50 ${ms(took.p50)} p95 ${ms(took.p95)}; per record p50 ${ms(perRecord.p50)}`,
    );
  }
  console.log(
    `\nthroughput: ${(leads.latencies.length / leads.seconds).toFixed(1)} leads/s alerted (offered ${rate}/s)`,
  );
  console.log('\nfunctions (bundled as deployed; cold init = median import time in a fresh Node process)');
  for (const row of await measureBundles(Number(values['init-runs']))) {
    console.log(`  ${row.name.padEnd(12)} ${row.kib.toFixed(0).padStart(5)} KiB   init ${ms(row.init)}`);
  }
} finally {
  await system.stop();
  await tap.close();
}
