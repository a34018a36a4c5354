import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalSystem, startLocalSystem } from '../../local/system';

export interface SentEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
  /** The headers the sender gave SES (`Content.Simple.Headers`), as aws-ses-v2-local stores them. */
  headers?: { name: string; value: string }[];
  at: number;
}

export interface TestSystem extends LocalSystem {
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** Every item in the table (the test tables are small). */
  items(): Promise<Record<string, unknown>[]>;
  emails(): Promise<SentEmail[]>;
  /** Polls the SES store until `predicate` holds for the list of emails, or fails after `timeoutMs`. */
  waitForEmails(predicate: (emails: SentEmail[]) => boolean, timeoutMs?: number): Promise<SentEmail[]>;
  /** Visible plus in-flight messages of a queue. */
  depth(queueUrl: string): Promise<number>;
  post(path: string, init?: RequestInit): Promise<Response>;
}

/** Starts the real local system (DynamoDB Local, fauxqs, SES local, handlers) on free ports. */
export async function startTestSystem(
  options: {
    rateLimitPerClient?: number;
    configCacheSeconds?: number;
    /** SLA_TIME_SCALE for this system (0.01: a 2-minute target in 1.2 s); unset: 1. */
    slaTimeScale?: number;
  } = {},
): Promise<TestSystem> {
  // A key pair of the test system's own: `system.token(user, { expiresInSeconds })` signs with it, and so
  // does `npx tsx local/token.ts <user> --port <port> --dir <system.issuer.dir>`.
  const issuerDir = mkdtempSync(join(tmpdir(), 'leadflow-issuer-'));
  const system = await startLocalSystem({
    port: 0,
    issuerDir,
    // Tests post many leads from one address; the hardening tests turn the limit on themselves.
    rateLimitPerClient: options.rateLimitPerClient ?? 0,
    // A test that changes the runtime configuration sets 0, so the next lead sees the change.
    ...(options.configCacheSeconds === undefined ? {} : { configCacheSeconds: options.configCacheSeconds }),
    // Real delays unless a test shrinks them; never whatever SLA_TIME_SCALE the shell running the tests has.
    slaTimeScale: options.slaTimeScale ?? 1,
    pollWaitSeconds: 1,
    prefix: `t${randomUUID().slice(0, 8)}-`,
  });
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: system.urls.dynamodb, region: 'us-east-1', credentials }),
  );
  const sqs = new SQSClient({
    endpoint: system.urls.sqs,
    region: 'us-east-1',
    credentials,
    useQueueUrlAsEndpoint: false,
  });
  const emails = async (): Promise<SentEmail[]> => {
    const response = await fetch(`${system.urls.mailbox}/store`);
    return ((await response.json()) as { emails: SentEmail[] }).emails;
  };
  return {
    ...system,
    doc,
    sqs,
    async items() {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new ScanCommand({ TableName: system.tableName, ExclusiveStartKey, ConsistentRead: true }),
        );
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    },
    emails,
    async waitForEmails(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const list = await emails();
        if (predicate(list)) return list;
        if (Date.now() > deadline) throw new Error(`Timed out waiting for emails; store has ${list.length}`);
        await new Promise((done) => setTimeout(done, 50));
      }
    },
    async depth(queueUrl) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    post(path, init) {
      return fetch(`${system.urls.api}${path}`, { method: 'POST', ...init });
    },
    async stop() {
      doc.destroy();
      sqs.destroy();
      await system.stop();
      rmSync(issuerDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` stops throwing, for eventually-consistent assertions on the async pipeline. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

/** A unique person for a test, so tests sharing one system never see each other's leads. */
export function person(tag: string) {
  const id = randomUUID().slice(0, 8);
  // 010-2xxx-xxxx to 010-4xxx-xxxx: always valid (some ranges, such as 010-59xx, are not assigned).
  const digits = String(Math.floor(20_000_000 + Math.random() * 29_999_999));
  return {
    name: `Test ${tag} ${id}`,
    email: `${tag}.${id}@Example.COM`,
    emailKey: `${tag}.${id}@example.com`.toLowerCase(),
    // Korean mobile numbers: 010-XXXX-XXXX.
    phoneKr: `010-${digits.slice(0, 4)}-${digits.slice(4)}`,
    e164: `+8210${digits}`,
  };
}

/** Every demo manager's address: the rules send Thai leads to the thai desk and enterprise ones to carol and dave. */
export const MANAGER_EMAILS: readonly string[] = ['alice', 'bob', 'somchai', 'nok', 'carol', 'dave'].map(
  (id) => `${id}@example.com`,
);
