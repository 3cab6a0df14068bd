import { mkdir } from "node:fs/promises";
import S3rver from "s3rver";

export interface S3 {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  stop(): Promise<void>;
}

// Browsers upload straight to the bucket with the presigned URL, so the local bucket
// answers CORS the way the production bucket is told to in the deploy guide.
const corsConfiguration = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

/** An S3-compatible server on a free loopback port with the app's bucket created. */
export async function startS3(options: { directory: string; bucket: string; resetOnClose: boolean }): Promise<S3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: options.directory,
    resetOnClose: options.resetOnClose,
    configureBuckets: [{ name: options.bucket, configs: [corsConfiguration] }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: options.bucket,
    // s3rver's fixed development credentials.
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    region: "us-east-1",
    stop: () => server.close(),
  };
}
