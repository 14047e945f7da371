/**
 * The ingestor process (Fargate task): parse config once, start, stop gracefully on SIGTERM within the
 * ECS stop timeout (120 s): close the shards resumably, flush, persist the resume point.
 */
import { IngestorConfigError, parseIngestorConfig } from './config';
import { startIngestor } from './ingestor';

async function main() {
  let cfg;
  try {
    cfg = parseIngestorConfig();
  } catch (err) {
    if (err instanceof IngestorConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const aws = process.env.AWS_ENDPOINT_URL
    ? { endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' } }
    : {};
  const ingestor = await startIngestor(cfg, { aws });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ level: 'info', msg: `${signal}: stopping`, service: 'ingestor' }));
    const hard = setTimeout(() => process.exit(1), 115_000);
    ingestor.stop().then(() => {
      clearTimeout(hard);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(JSON.stringify({ level: 'error', msg: 'ingestor failed to start', error: String((err as Error).message ?? err), service: 'ingestor' }));
  process.exit(1);
});
