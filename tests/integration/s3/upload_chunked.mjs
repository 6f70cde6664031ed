// A real client that sends aws-chunked bodies: the AWS SDK for JavaScript v3 uploads a stream
// (the SDK frames it as aws-chunked with a CRC32 trailer), then reads a range back.
// Usage: node upload_chunked.mjs ENDPOINT BUCKET KEY SIZE   (credentials from the environment)
import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';

const [endpoint, bucket, key, sizeText] = process.argv.slice(2);
const size = Number(sizeText);
const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
const data = Buffer.alloc(size);
for (let i = 0; i < size; i++) data[i] = (i * 2654435761 >>> 13) & 255;
const pieces = [];
for (let at = 0; at < size; at += 700001) pieces.push(data.subarray(at, Math.min(size, at + 700001)));
const put = await s3.send(new PutObjectCommand({
  Bucket: bucket, Key: key, Body: Readable.from(pieces), ContentLength: size }));
const first = Math.floor(size / 3), last = first + 99999;
const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${first}-${last}` }));
const range = Buffer.from(await got.Body.transformToByteArray());
console.log(JSON.stringify({
  etag: put.ETag,
  sha256: createHash('sha256').update(data).digest('hex'),
  range_ok: range.equals(data.subarray(first, last + 1)),
  content_range: got.ContentRange,
}));
