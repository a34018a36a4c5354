import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/**
 * An S3 client. The endpoint comes from AWS_ENDPOINT_URL_S3 when the local runtime sets it; emulators
 * then need path-style URLs (`http://host/bucket/key`), since `bucket.host` does not resolve. On AWS
 * no override is set and requests stay virtual-hosted.
 */
export function createS3Client(source: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client({ forcePathStyle: Boolean(source.AWS_ENDPOINT_URL_S3 || source.AWS_ENDPOINT_URL) });
}

/** Raw objects in one bucket under one key prefix: the raw MIME of inbound email, keyed by SES message id. */
export class ObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix = '',
  ) {}

  /** The key SES's S3 action uses for a message: `<prefix><messageId>`. */
  key(id: string): string {
    return `${this.prefix}${id}`;
  }

  /** Reads a whole object; a missing object throws (NoSuchKey) so the invocation is retried. */
  async read(id: string): Promise<Uint8Array> {
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(id) }));
    if (!Body) throw new Error(`S3 returned no body for ${this.key(id)}`);
    return Body.transformToByteArray();
  }

  /**
   * Reads at most `maxBytes` of an object (a ranged GET) and its whole size; undefined when there is none.
   * Export reads raw mail this way, so one huge message cannot blow the answer up.
   */
  async readPart(id: string, maxBytes: number): Promise<{ bytes: Uint8Array; size: number } | undefined> {
    try {
      const { Body, ContentRange, ContentLength } = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(id), Range: `bytes=0-${maxBytes - 1}` }),
      );
      const bytes = (await Body?.transformToByteArray()) ?? new Uint8Array();
      // `bytes 0-99/1234`: the size after the slash; a store that ignores Range sends the whole object.
      const total = Number(/\/(\d+)$/.exec(ContentRange ?? '')?.[1] ?? ContentLength ?? bytes.length);
      return { bytes: bytes.slice(0, maxBytes), size: Number.isFinite(total) ? total : bytes.length };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Deletes an object; deleting one that is gone already succeeds too (S3 answers 204 either way). */
  async delete(id: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(id) }));
  }

  /** Writes an object, as SES's S3 action does on AWS (used by the local SMTP server and tests). */
  async write(id: string, body: Uint8Array, contentType = 'message/rfc822'): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(id), Body: body, ContentType: contentType }),
    );
  }
}

/**
 * S3's answer for an object that is not there: NoSuchKey (404). Without s3:ListBucket, S3 answers 403 instead,
 * which stays an error.
 */
function isMissing(error: unknown): boolean {
  return (
    error instanceof NoSuchKey ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
  );
}
