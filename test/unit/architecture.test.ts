import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The house's rooms, enforced: each room knows only the rooms below it (STYLE.md, "The house we live in").
 * The checker reads module specifiers with TypeScript's own pre-processor, so imports in comments,
 * strings and template literals are not mistaken for imports, and `import type`, `export … from`,
 * `import('…')` and `typeof import('…')` are all seen.
 */

const ROOTS = ['packages', 'functions', 'infra', 'local', 'config'] as const;

const AWS = ['@aws-sdk', '@smithy', 'aws-sdk', 'aws-cdk-lib', 'aws-cdk', 'constructs', 'cdk-nag'];
const LAMBDA = ['aws-lambda', 'hono/aws-lambda', '@middy', '@aws-lambda-powertools'];
const HTTP = ['hono', '@hono'];
const CDK = ['aws-cdk-lib', 'aws-cdk', 'constructs', 'cdk-nag'];

/** Where an import points: a repo path (relative or workspace import) or an external package. */
interface Target {
  readonly specifier: string;
  /** Repo-relative path (`packages/aws/src/keys`, `functions/ingest/accept`), when the import is ours. */
  readonly path?: string;
  /** Package name (`@aws-sdk/client-sqs`, `@leadflow/core`) of a bare import; subpaths stripped. */
  readonly packageName?: string;
}

interface Rule {
  readonly name: string;
  readonly applies: (file: string) => boolean;
  readonly forbids: (target: Target, file: string) => boolean;
}

interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly rule: string;
}

/** A workspace package's manifest, keyed by its folder (`packages/core`). */
type Manifests = Readonly<Record<string, { readonly name: string; readonly dependencies?: object }>>;

const under = (path: string | undefined, ...prefixes: string[]) =>
  path !== undefined && prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

/** `hono/aws-lambda` matches `hono/aws-lambda` and `hono/aws-lambda/x`; `@middy` matches `@middy/core`. */
const matches = (specifier: string, names: readonly string[]) =>
  names.some((name) => specifier === name || specifier.startsWith(`${name}/`));

const isProduct = (file: string) => under(file, 'packages', 'functions', 'infra', 'config');
const functionOf = (path: string | undefined) => (under(path, 'functions') ? path?.split('/')[1] : undefined);
const packageOf = (path: string | undefined) =>
  under(path, 'packages') ? `packages/${path?.split('/')[1]}` : undefined;

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

function resolve(file: string, specifier: string): Target {
  if (specifier.startsWith('.')) {
    return { specifier, path: posix.normalize(posix.join(posix.dirname(file), specifier)) };
  }
  // Workspace packages are folders of this repo: `@leadflow/aws/resources` is `packages/aws/resources`.
  const workspace = /^@leadflow\/([^/]+)(\/.*)?$/.exec(specifier);
  if (workspace) {
    return {
      specifier,
      path: `packages/${workspace[1]}${workspace[2] ?? ''}`,
      packageName: packageName(specifier),
    };
  }
  return { specifier, packageName: packageName(specifier) };
}

/** Every module specifier in a source text: static and dynamic imports, re-exports, side-effect imports. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

const external = (target: Target, names: readonly string[]) =>
  target.packageName !== undefined &&
  !target.packageName.startsWith('@leadflow/') &&
  matches(target.specifier, names);

function rulesFor(manifests: Manifests): Rule[] {
  return [
    {
      name: 'core imports no AWS SDK, Lambda or CDK',
      applies: (file) => under(file, 'packages/core'),
      forbids: (target) => external(target, [...AWS, ...LAMBDA]),
    },
    {
      name: 'core imports no HTTP framework',
      applies: (file) => under(file, 'packages/core'),
      forbids: (target) => external(target, HTTP),
    },
    {
      name: 'core reads no environment',
      applies: (file) => under(file, 'packages/core'),
      forbids: (target) => external(target, ['process', 'node:process']),
    },
    {
      name: 'core imports nothing of ours outside itself',
      applies: (file) => under(file, 'packages/core'),
      forbids: (target) => target.path !== undefined && !under(target.path, 'packages/core'),
    },
    {
      name: 'the door is neither AWS nor HTTP',
      applies: (file) => under(file, 'packages/door'),
      forbids: (target) => external(target, [...AWS, ...LAMBDA, ...HTTP]),
    },
    {
      name: 'the door imports only core',
      applies: (file) => under(file, 'packages/door'),
      forbids: (target) => target.path !== undefined && !under(target.path, 'packages/door', 'packages/core'),
    },
    {
      name: 'adapters import no HTTP',
      applies: (file) => under(file, 'packages/aws'),
      forbids: (target) => external(target, HTTP),
    },
    {
      name: 'adapters import no handlers or CDK app',
      applies: (file) => under(file, 'packages/aws'),
      forbids: (target) => under(target.path, 'functions', 'infra'),
    },
    {
      name: 'a package imports only its declared dependencies',
      applies: (file) => under(file, 'packages'),
      forbids: (target, file) => {
        if (target.packageName === undefined || isBuiltin(target.specifier)) return false;
        const manifest = manifests[packageOf(file) ?? ''];
        if (manifest?.name === target.packageName) return false;
        return !Object.hasOwn(manifest?.dependencies ?? {}, target.packageName);
      },
    },
    {
      name: 'only functions/*/handler.ts adapts to Lambda',
      applies: (file) => under(file, 'functions') && posix.basename(file) !== 'handler.ts',
      forbids: (target) => external(target, LAMBDA),
    },
    {
      name: 'a function never imports another function',
      applies: (file) => under(file, 'functions'),
      forbids: (target, file) => {
        const other = functionOf(target.path);
        return other !== undefined && other !== functionOf(file);
      },
    },
    {
      name: 'a function never imports the CDK app',
      applies: (file) => under(file, 'functions'),
      forbids: (target) => under(target.path, 'infra') || external(target, CDK),
    },
    {
      name: 'infra never imports handler code',
      applies: (file) => under(file, 'infra'),
      forbids: (target) => under(target.path, 'functions'),
    },
    {
      name: 'product code never imports local/',
      applies: isProduct,
      forbids: (target) => under(target.path, 'local'),
    },
    {
      name: 'product code never imports tests',
      applies: isProduct,
      forbids: (target) => under(target.path, 'test'),
    },
  ];
}

/** Core computes on what it is given: the clock and the environment are read at the edge and passed in. */
const CORE_TEXT_RULES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'core reads no clock: Date.now', pattern: /\bDate\s*\.\s*now\b/g },
  // `new Date()` and `new Date` read the clock; `new Date(instant)` only converts.
  { name: 'core reads no clock: new Date()', pattern: /\bnew\s+Date\b(?!\s*\(\s*[^\s)])/g },
  { name: 'core reads no clock: performance.now', pattern: /\bperformance\s*\.\s*now\b/g },
  {
    name: 'core reads no environment: process.env',
    pattern: /\bprocess\s*(?:\.\s*env\b|\[\s*(['"`])env\1\s*\])/g,
  },
];

/**
 * The single-table items are declared in one module (STYLE.md: "one typed item module"): anywhere else in
 * the adapters, an update, condition or key condition, or a key spelled as a literal, is assembled inline.
 */
const ITEM_MODULE = 'packages/aws/src/items';
/**
 * `resources.ts` holds IAM `dynamodb:LeadingKeys` patterns and the outbox's stream filter: policies over
 * key prefixes that the CDK app loads without the item module, checked against the key builders by
 * test/infra/iam.test.ts.
 */
const ITEM_TEXT_EXEMPT: ReadonlySet<string> = new Set(['packages/aws/src/resources.ts']);
const ITEM_TEXT_RULES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  {
    name: 'DynamoDB expressions are built in the item module (packages/aws/src/items)',
    pattern: /\b((?:Update|Condition|KeyCondition)Expression)\s*:/g,
  },
  {
    name: 'keys are spelled in the item module (packages/aws/src/items)',
    pattern: /['`"]([A-Z]+#)/g,
  },
];

/** The source without its comments, printed back from the syntax tree. */
function withoutComments(file: string, text: string): string {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return ts.createPrinter({ removeComments: true }).printFile(source);
}

/** Every boundary crossed by `files` (repo-relative path → source text). */
function checkArchitecture(files: Readonly<Record<string, string>>, manifests: Manifests): Violation[] {
  const rules = rulesFor(manifests);
  const violations: Violation[] = [];
  for (const [file, text] of Object.entries(files)) {
    const applicable = rules.filter((rule) => rule.applies(file));
    for (const specifier of specifiersOf(text)) {
      const target = resolve(file, specifier);
      for (const rule of applicable) {
        if (rule.forbids(target, file)) violations.push({ file, specifier, rule: rule.name });
      }
    }
    if (under(file, 'packages/core')) {
      const code = withoutComments(file, text);
      for (const { name, pattern } of CORE_TEXT_RULES) {
        for (const match of code.matchAll(pattern)) {
          violations.push({ file, specifier: match[0].replace(/\s+/g, ' '), rule: name });
        }
      }
    }
    if (under(file, 'packages/aws/src') && !under(file, ITEM_MODULE) && !ITEM_TEXT_EXEMPT.has(file)) {
      const code = withoutComments(file, text);
      for (const { name, pattern } of ITEM_TEXT_RULES) {
        for (const match of code.matchAll(pattern)) {
          violations.push({ file, specifier: match[1] ?? match[0], rule: name });
        }
      }
    }
  }
  return violations;
}

const describeViolations = (violations: readonly Violation[]) =>
  violations.map(({ file, specifier, rule }) => `${file} → ${specifier} (${rule})`).join('\n');

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function sourcesUnder(dir: string): string[] {
  return readdirSync(posix.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      return entry.name === 'node_modules' || entry.name === 'cdk.out' || entry.name.startsWith('.')
        ? []
        : sourcesUnder(path);
    }
    return /\.[cm]?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function readRepo(): { files: Record<string, string>; manifests: Manifests } {
  const files = Object.fromEntries(
    ROOTS.flatMap(sourcesUnder).map((file) => [file, readFileSync(posix.join(repoRoot, file), 'utf8')]),
  );
  const manifests = Object.fromEntries(
    readdirSync(posix.join(repoRoot, 'packages')).map((name) => [
      `packages/${name}`,
      JSON.parse(readFileSync(posix.join(repoRoot, 'packages', name, 'package.json'), 'utf8')),
    ]),
  );
  return { files, manifests };
}

describe('the checker', () => {
  const manifests: Manifests = {
    'packages/core': { name: '@leadflow/core', dependencies: { zod: '4', 'libphonenumber-js': '1' } },
    'packages/aws': {
      name: '@leadflow/aws',
      dependencies: { '@aws-sdk/client-sqs': '3', '@leadflow/core': '0' },
    },
    'packages/door': { name: '@leadflow/door', dependencies: { '@leadflow/core': '0' } },
  };

  it('reports every crossed boundary, and nothing that is allowed', () => {
    const files: Record<string, string> = {
      'packages/core/src/bad-imports.ts': [
        "import { SQSClient } from '@aws-sdk/client-sqs';",
        "import type { Context } from 'hono';",
        "export { keys } from '@leadflow/aws';",
        "import '../../aws/src/keys';",
        "import { env } from 'node:process';",
      ].join('\n'),
      'packages/core/src/clock.ts': [
        '// Date.now() and new Date() in a comment are fine; so is process.env here.',
        '/* new Date() */',
        'export const a = Date.now();',
        'export const b = new Date();',
        'export const c = new Date;',
        'export const d = new Date(0);',
        'export const e = new Date(Date.UTC(2024, 0, 1));',
        'export const f = process.env.TABLE_NAME;',
        "export const g = process['env'];",
      ].join('\n'),
      'packages/core/src/fine.ts': [
        "import { z } from 'zod';",
        "import { createHash } from 'node:crypto';",
        "import { parsePhoneNumber } from 'libphonenumber-js/max';",
        "export * from './form';",
        'const s = \'import x from "hono"\';',
        'const t = `import("@aws-sdk/client-s3")`;',
      ].join('\n'),
      'packages/aws/src/bad.ts': [
        "import { Hono } from 'hono';",
        "const app = await import('../../../functions/ingest/app');",
        "export * from '../../../local/system';",
        "import { ulid } from 'ulid';",
      ].join('\n'),
      'packages/aws/src/inline.ts': [
        '// A comment may name `CONTACT#<id>` and ConditionExpression: freely.',
        "const put = { Item: { pk: 'SUB#' + hash }, ConditionExpression: 'attribute_not_exists(pk)' };",
        "const update = { UpdateExpression : 'ADD hits :one', Key: { pk: `RATE#` + scope, sk: 'LOAD' } };",
        "const query = { KeyConditionExpression: 'pk = :pk', ProjectionExpression: 'a', FilterExpression: 'b' };",
      ].join('\n'),
      'packages/aws/src/items/operations.ts': [
        "const put = { Item: { pk: 'SUB#' + hash }, ConditionExpression: 'attribute_not_exists(pk)' };",
        "const query = { KeyConditionExpression: 'pk = :pk' };",
      ].join('\n'),
      'packages/aws/src/resources.ts': "export const ingestLeadingKeys = ['SUB#*', 'STATS#*'] as const;",
      'packages/aws/src/fine.ts':
        "import { SQSClient } from '@aws-sdk/client-sqs';\nimport '@leadflow/core';",
      'packages/door/src/bad.ts': [
        "import type { SQSClient } from '@aws-sdk/client-sqs';",
        "import { enqueueCapture } from '@leadflow/aws';",
      ].join('\n'),
      'packages/door/src/fine.ts': "import { sha256 } from '@leadflow/core';\nexport * from './accept';",
      'functions/ingest/app.ts': "import { handle } from 'hono/aws-lambda';\nimport { Hono } from 'hono';",
      'functions/ingest/routes/forms.ts': [
        "import middy from '@middy/core';",
        "import { acceptCapture } from '@leadflow/door';",
        "import type { IngestDeps } from '../deps';",
      ].join('\n'),
      'functions/ingest/guard.ts': "import type { APIGatewayProxyEventV2 } from 'aws-lambda';",
      'functions/ingest/handler.ts': [
        "import middy from '@middy/core';",
        "import { Logger } from '@aws-lambda-powertools/logger';",
        "import { handle } from 'hono/aws-lambda';",
        "import { config } from '../../config';",
        "import { createIngestApp } from './app';",
      ].join('\n'),
      'functions/inbound-email/receive.ts': [
        "import { naturalKey } from '../ingest/accept';",
        "type T = typeof import('../router/handler');",
        "import { sesEventSchema } from './event';",
      ].join('\n'),
      'functions/router/handler.ts': [
        "import { startSystem } from '../../local/system';",
        "import { env } from '../../infra/stack';",
        "import { Duration } from 'aws-cdk-lib';",
      ].join('\n'),
      'infra/stack.ts': [
        "import { handler } from '../functions/ingest/handler';",
        "import { bundling } from '@leadflow/aws/resources';",
        "import '../config';",
      ].join('\n'),
      'config/index.ts': "import '../local/secrets';\nimport { fixture } from '../test/support/events';",
      'local/system.ts': [
        "import('../functions/ingest/handler');",
        "import { config } from '../config';",
        "import { Hono } from 'hono';",
      ].join('\n'),
    };

    expect(describeViolations(checkArchitecture(files, manifests)).split('\n').sort()).toEqual(
      [
        'packages/aws/src/inline.ts → SUB# (keys are spelled in the item module (packages/aws/src/items))',
        'packages/aws/src/inline.ts → RATE# (keys are spelled in the item module (packages/aws/src/items))',
        'packages/aws/src/inline.ts → ConditionExpression (DynamoDB expressions are built in the item module (packages/aws/src/items))',
        'packages/aws/src/inline.ts → UpdateExpression (DynamoDB expressions are built in the item module (packages/aws/src/items))',
        'packages/aws/src/inline.ts → KeyConditionExpression (DynamoDB expressions are built in the item module (packages/aws/src/items))',
        'packages/core/src/bad-imports.ts → @aws-sdk/client-sqs (core imports no AWS SDK, Lambda or CDK)',
        'packages/core/src/bad-imports.ts → @aws-sdk/client-sqs (a package imports only its declared dependencies)',
        'packages/core/src/bad-imports.ts → hono (core imports no HTTP framework)',
        'packages/core/src/bad-imports.ts → hono (a package imports only its declared dependencies)',
        'packages/core/src/bad-imports.ts → @leadflow/aws (core imports nothing of ours outside itself)',
        'packages/core/src/bad-imports.ts → @leadflow/aws (a package imports only its declared dependencies)',
        'packages/core/src/bad-imports.ts → ../../aws/src/keys (core imports nothing of ours outside itself)',
        'packages/core/src/bad-imports.ts → node:process (core reads no environment)',
        'packages/core/src/clock.ts → Date.now (core reads no clock: Date.now)',
        'packages/core/src/clock.ts → new Date (core reads no clock: new Date())',
        'packages/core/src/clock.ts → new Date (core reads no clock: new Date())',
        'packages/core/src/clock.ts → process.env (core reads no environment: process.env)',
        // Reported as printed back without comments, in double quotes.
        'packages/core/src/clock.ts → process["env"] (core reads no environment: process.env)',
        'packages/aws/src/bad.ts → hono (adapters import no HTTP)',
        'packages/aws/src/bad.ts → hono (a package imports only its declared dependencies)',
        'packages/aws/src/bad.ts → ../../../functions/ingest/app (adapters import no handlers or CDK app)',
        'packages/aws/src/bad.ts → ../../../local/system (product code never imports local/)',
        'packages/aws/src/bad.ts → ulid (a package imports only its declared dependencies)',
        'packages/door/src/bad.ts → @aws-sdk/client-sqs (the door is neither AWS nor HTTP)',
        'packages/door/src/bad.ts → @aws-sdk/client-sqs (a package imports only its declared dependencies)',
        'packages/door/src/bad.ts → @leadflow/aws (the door imports only core)',
        'packages/door/src/bad.ts → @leadflow/aws (a package imports only its declared dependencies)',
        'functions/ingest/app.ts → hono/aws-lambda (only functions/*/handler.ts adapts to Lambda)',
        'functions/ingest/routes/forms.ts → @middy/core (only functions/*/handler.ts adapts to Lambda)',
        'functions/ingest/guard.ts → aws-lambda (only functions/*/handler.ts adapts to Lambda)',
        'functions/inbound-email/receive.ts → ../ingest/accept (a function never imports another function)',
        'functions/inbound-email/receive.ts → ../router/handler (a function never imports another function)',
        'functions/router/handler.ts → ../../local/system (product code never imports local/)',
        'functions/router/handler.ts → ../../infra/stack (a function never imports the CDK app)',
        'functions/router/handler.ts → aws-cdk-lib (a function never imports the CDK app)',
        'infra/stack.ts → ../functions/ingest/handler (infra never imports handler code)',
        'config/index.ts → ../local/secrets (product code never imports local/)',
        'config/index.ts → ../test/support/events (product code never imports tests)',
      ].sort(),
    );
  });

  it('sees every kind of module specifier, and none in comments or strings', () => {
    const text = [
      "import type { A } from 'type-only';",
      "import { b } from 'named';",
      "import 'side-effect';",
      "export * from './star';",
      "export type { C } from './type-export';",
      "const d = await import('dynamic');",
      "type E = typeof import('type-query');",
      "// import 'line-comment';",
      "/* import x from 'block-comment'; */",
      'const s = "import y from \'in-string\'";',
      'const t = `import("in-template")`;',
    ].join('\n');
    expect(specifiersOf(text)).toEqual([
      'type-only',
      'named',
      'side-effect',
      './star',
      './type-export',
      'dynamic',
      'type-query',
    ]);
  });
});

describe('the repository', () => {
  const { files, manifests } = readRepo();

  it('reads every room', () => {
    const paths = Object.keys(files);
    for (const file of [
      'packages/core/src/index.ts',
      'packages/aws/src/index.ts',
      'packages/door/src/index.ts',
      'functions/ingest/app.ts',
      'functions/ingest/handler.ts',
      'functions/inbound-email/receive.ts',
      'infra/app.ts',
      'local/start.ts',
      'config/index.ts',
    ]) {
      expect(paths).toContain(file);
    }
    expect(paths.some((path) => path.includes('node_modules'))).toBe(false);
    // The shared door is a package: inbound-email reaches it through @leadflow/door, not through ingest.
    expect(specifiersOf(files['functions/inbound-email/receive.ts'] ?? '')).toContain('@leadflow/door');
  });

  it('crosses no boundary', () => {
    const violations = checkArchitecture(files, manifests);
    expect(violations, `Boundaries crossed:\n${describeViolations(violations)}`).toEqual([]);
  });
});
