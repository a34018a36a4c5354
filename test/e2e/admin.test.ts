import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { person, type SentEmail, startTestSystem, type TestSystem } from '../support/system';

// The admin command as an operator runs it (a child process), against the running local system. The
// functions read the configuration on every invocation here (CONFIG_CACHE_SECONDS=0), so a change is seen
// by the very next lead instead of within 10 s.
let system: TestSystem;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_TIMEOUT_MS = 60_000;

beforeAll(async () => {
  system = await startTestSystem({ configCacheSeconds: 0 });
});

afterAll(async () => {
  await system?.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run -s admin -- …` against the test system. */
function admin(...args: string[]): Promise<Run> {
  const where = [
    '--endpoint',
    system.urls.dynamodb,
    '--table',
    system.tableName,
    '--sqs-endpoint',
    system.urls.sqs,
    '--queue-url',
    system.queues.notifications.url,
    '--by',
    'e2e',
  ];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'local/admin.ts', ...args, ...where],
      { cwd: repoRoot, timeout: ADMIN_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const MANAGERS = { alice: 'alice@example.com', bob: 'bob@example.com' } as const;
type ManagerId = keyof typeof MANAGERS;

/** The alert about `name` to whichever sales manager got it, as the positive signal that routing happened. */
function alertAbout(name: string, emails: SentEmail[]): { to: ManagerId; email: SentEmail } | undefined {
  for (const email of emails) {
    if (!email.subject.includes(name) || email.subject.startsWith('[Queued]')) continue;
    for (const [id, address] of Object.entries(MANAGERS)) {
      if (email.destination.to.some((to) => to.toLowerCase().includes(address))) {
        return { to: id as ManagerId, email };
      }
    }
  }
  return undefined;
}

/** Posts a `demo-contact` lead from a new person and waits for its manager's alert; returns who got it. */
async function leadGoesTo(tag: string): Promise<ManagerId> {
  const lead = person(tag);
  const response = await system.post('/v1/forms/demo-contact', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: lead.name, email: lead.email, message: 'Hello', consent: true }),
  });
  expect(response.status).toBe(202);
  const emails = await system.waitForEmails((list) => alertAbout(lead.name, list) !== undefined, 15_000);
  return (alertAbout(lead.name, emails) as { to: ManagerId }).to;
}

async function configVersion(): Promise<number> {
  const run = await admin('config');
  expect(run.code).toBe(0);
  return (JSON.parse(run.stdout) as { version: number }).version;
}

const tomorrow = () => new Date(Date.now() + 24 * 3_600_000).toISOString();

describe('npm run admin against the running local system', () => {
  it(
    'sets bob out of office: alice gets every lead; back, bob takes turns again without a burst',
    async () => {
      const before = await configVersion();
      const until = tomorrow();
      const away = await admin('manager', 'bob', '--out-of-office-until', until);
      expect(away.stderr).toBe('');
      expect(away.code).toBe(0);
      expect(away.stdout).toContain(
        `manager bob: out of office until ${until} (config version ${before + 1})`,
      );

      const shown = await admin('manager', 'bob');
      expect(shown.stdout).toContain(`out of office until ${until}`);

      const whileAway: ManagerId[] = [];
      for (let index = 0; index < 4; index++) whileAway.push(await leadGoesTo(`away${index}`));
      expect(whileAway).toEqual(['alice', 'alice', 'alice', 'alice']);

      const back = await admin('manager', 'bob', '--back');
      expect(back.code).toBe(0);
      expect(back.stdout).toContain(`manager bob: back (config version ${before + 2})`);
      // Nobody waited: alice was there all along.
      expect(back.stdout).toContain('sales queue: 0 leads assigned; the queue is empty');

      const afterBack: ManagerId[] = [];
      for (let index = 0; index < 4; index++) afterBack.push(await leadGoesTo(`back${index}`));
      expect(afterBack.filter((id) => id === 'bob')).toHaveLength(2);
      expect(afterBack.filter((id) => id === 'alice')).toHaveLength(2);
      // Turns, not a burst of bob's missed share.
      afterBack.slice(1).forEach((id, index) => {
        expect(id).not.toBe(afterBack[index]);
      });
    },
    4 * ADMIN_TIMEOUT_MS,
  );

  it(
    'keeps a lead in the queue while nobody is available, and assigns it the moment bob is back',
    async () => {
      const until = tomorrow();
      expect((await admin('manager', 'alice', '--out-of-office-until', until)).code).toBe(0);
      expect((await admin('manager', 'bob', '--out-of-office-until', until)).code).toBe(0);
      const lead = person('queued');
      const response = await system.post('/v1/forms/demo-contact', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: lead.name, email: lead.email, consent: true }),
      });
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as { id: string };
      // The team lead hears that it waits.
      await system.waitForEmails((emails) =>
        emails.some((email) => email.subject.startsWith('[Queued]') && email.subject.includes(lead.name)),
      );
      expect(alertAbout(lead.name, await system.emails())).toBeUndefined();

      const back = await admin('manager', 'bob', '--back');
      expect(back.code).toBe(0);
      expect(back.stdout).toContain(`sales queue: 1 lead assigned (${id} → bob); the queue is empty`);
      const emails = await system.waitForEmails((list) => alertAbout(lead.name, list) !== undefined);
      expect(alertAbout(lead.name, emails)?.to).toBe('bob');
      expect(alertAbout(lead.name, emails)?.email.body.text).toMatch(/Waited \d+ s in sales's queue/);

      expect((await admin('manager', 'alice', '--back')).code).toBe(0);
    },
    6 * ADMIN_TIMEOUT_MS,
  );

  it(
    'refuses bad input with exit code 2 and a readable reason, changing nothing',
    async () => {
      const before = await configVersion();
      const unknown = await admin('manager', 'nobody', '--back');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('There is no manager "nobody"');

      const capacity = await admin('manager', 'bob', '--capacity', '0');
      expect(capacity.code).toBe(2);
      expect(capacity.stderr).toContain('--capacity is at least 1');

      const last = await admin('manager', 'bob', '--inactive', '--active');
      expect(last.code).toBe(2);

      const file = join(tmpdir(), `rules-${process.pid}.json`);
      // Rules files as an operator writes them (JSON text: `then` is the configuration's word).
      writeFileSync(file, '[{"id": "nowhere", "then": {"teamId": "ghost"}}]');
      const rules = await admin('rules', file);
      expect(rules.code).toBe(2);
      expect(rules.stderr).toContain('refused, nothing changed');
      expect(rules.stderr).toContain('unknown team ghost');

      writeFileSync(file, '{"rules": [{"id": "bad id!", "then": {"tags": ["x"]}}]}');
      const malformed = await admin('rules', file);
      expect(malformed.code).toBe(2);
      expect(malformed.stderr).toMatch(/rules\[0\]\.id/);

      const unmerge = await admin('unmerge', 'merge-nope');
      expect(unmerge.code).toBe(2);
      expect(unmerge.stderr).toContain('merge-nope');

      expect(await configVersion()).toBe(before);
    },
    9 * ADMIN_TIMEOUT_MS,
  );

  it(
    'applies a rules file as a new version, with its history',
    async () => {
      const before = await configVersion();
      const file = join(tmpdir(), `rules-ok-${process.pid}.json`);
      writeFileSync(
        file,
        '[{"id": "vip", "when": {"keywords": ["vip"]}, "then": {"priority": "high", "tags": ["vip"]}}]',
      );
      const applied = await admin('rules', file);
      expect(applied.stderr).toBe('');
      expect(applied.stdout).toContain(`rules: 1 rules from ${file} (config version ${before + 1})`);
      const config = JSON.parse((await admin('config')).stdout) as {
        version: number;
        updatedBy: string;
        routing: { rules: { id: string }[] };
      };
      expect(config).toMatchObject({ version: before + 1, updatedBy: 'e2e' });
      expect(config.routing.rules.map((rule) => rule.id)).toEqual(['vip']);
      const history = await admin('config', '--history');
      expect(history.stdout.split('\n')[0]).toMatch(new RegExp(`^${before + 1}\\t.*\\te2e\\trules from `));
    },
    3 * ADMIN_TIMEOUT_MS,
  );
});
