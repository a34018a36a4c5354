import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

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

  /** Writes an object, as SES's S3 action does on AWS (used by the local SMTP server and tests). */
  async write(id: string, body: Uint8Array, contentType = 'message/rfc822'): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key(id), Body: body, ContentType: contentType }),
    );
  }
}
