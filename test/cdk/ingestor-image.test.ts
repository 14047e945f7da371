import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { describe, expect, it } from 'vitest';
import { shardIdsLabel } from '../../lib/constructs/ingestor-service';
import { ingestorImage } from '../../lib/stacks/gateway-stack';

const taskWith = (dir: string) => {
  const app = new App();
  const stack = new Stack(app, 'Img');
  const td = new ecs.FargateTaskDefinition(stack, 'Td');
  td.addContainer('c', { image: ingestorImage(stack, dir) });
  return { app, stack };
};

describe('ingestor image', () => {
  it('is the ingestor/ folder as an ARM64 Docker image asset when its Dockerfile exists (no Docker needed to synth)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingestor-'));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM public.ecr.aws/docker/library/node:22-alpine\n');
    const { app } = taskWith(dir);
    const assembly = app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Img.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { platform?: string } }>;
    };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source.platform).toBe('linux/arm64');
  });

  it('warns, and never silently deploys a placeholder, while ingestor/Dockerfile is missing', () => {
    const { stack } = taskWith(fs.mkdtempSync(path.join(os.tmpdir(), 'no-dockerfile-')));
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('Dockerfile does not exist.*Do not deploy'));
  });

  it('labels shard groups the way SHARD_IDS and the ShardGroup dimension expect', () => {
    expect(shardIdsLabel([0, 1, 2, 3])).toBe('0-3');
    expect(shardIdsLabel([5])).toBe('5');
    expect(shardIdsLabel([4, 0, 2])).toBe('0,2,4');
    expect(() => shardIdsLabel([])).toThrow(/at least one shard id/);
  });
});
