import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigStore, createDocumentClient, dryRunLead, replay, replayWindow } from '@leadflow/aws';
import { table } from '@leadflow/aws/resources';
import { LeadflowError } from '@leadflow/core';
import { z } from 'zod';
import { config as deployed } from '../config';

/**
 * `npm run -s routing -- dry-run [--at <ISO time>]`: reads one lead as JSON on stdin and prints where
 * real routing would send it now: the rule, team, priority, score, tags, business hours, the manager
 * (without advancing any cursor), the contact it would join and every candidate with why. Writes nothing.
 *
 * Against the local system by default (DynamoDB on 127.0.0.1:8000, table `leadflow`); against AWS with
 * `--table <name>` and your usual AWS credentials and region.
 */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    at: { type: 'string' },
    table: { type: 'string' },
    endpoint: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    rules: { type: 'string' },
  },
}) as { positionals: string[]; values: Record<string, string | undefined> };

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Where the commands read: the local system by default, or a table on AWS with your credentials. */
function tableClient(): { doc: DynamoDBDocumentClient; tableName: string } {
  const endpoint = values.endpoint ?? (values.table ? undefined : 'http://127.0.0.1:8000');
  const client = new DynamoDBClient(
    endpoint
      ? { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {},
  );
  return { doc: createDocumentClient(client), tableName: values.table ?? table.localName };
}

// The engine is shared with `POST /v1/admin/routing/dry-run|replay` (packages/aws/src/crm/routing-preview.ts).
export { dryRunLead, replay } from '@leadflow/aws';

const USAGE = [
  'usage: npm run -s routing -- dry-run [--at <ISO time>] [--table <name>] [--endpoint <url>] < lead.json',
  '       npm run -s routing -- replay --from <date> --to <date> --rules <file> [--table <name>] [--endpoint <url>]',
].join('\n');

if (import.meta.main) {
  const [command] = positionals;
  const { doc, tableName } = tableClient();
  try {
    if (command === 'dry-run') {
      const at = values.at ? new Date(values.at) : new Date();
      if (Number.isNaN(at.getTime())) throw new Error(`--at is not an ISO time: ${values.at}`);
      // The configuration in force (runtime changes included), as the router reads it.
      const { config } = await new ConfigStore(doc, tableName, deployed).get();
      const out = await dryRunLead(JSON.parse(await readStdin()), { doc, tableName, config, at });
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else if (command === 'replay' && values.from && values.to && values.rules) {
      const result = await replay({
        doc,
        tableName,
        config: (await new ConfigStore(doc, tableName, deployed).get()).config,
        rules: JSON.parse(readFileSync(values.rules, 'utf8')),
        ...replayWindow(values.from, values.to),
      });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      console.error(USAGE);
      process.exitCode = 2;
    }
  } catch (error) {
    // A lead the door would refuse, or a bad rules file: say why, as the API would.
    if (error instanceof LeadflowError || error instanceof z.ZodError || error instanceof SyntaxError) {
      const fields =
        error instanceof LeadflowError ? error.fields.map((f) => `\n  ${f.field}: ${f.message}`) : [];
      console.error(
        `${error instanceof z.ZodError ? z.prettifyError(error) : error.message}${fields.join('')}`,
      );
      process.exitCode = 2;
    } else throw error;
  } finally {
    doc.destroy();
  }
}
