/**
 * One Node.js version, stated once: `.nvmrc` names the major that Lambda (the workers, the HTTP
 * ingress, the migrator) and the ingestor's image run, and the bundles target. `engines` in
 * package.json is the floor for development and tests: this repository's own CI machine runs Node 20
 * (20.19+), which the code must keep working on, while production runs the .nvmrc major.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const nvmrcMajor = Number(/^(\d+)/.exec(read('.nvmrc').trim())?.[1]);
const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
/** [major, minor] of `>=20.19`, the only form engines uses here */
const floor = (/^>=(\d+)\.(\d+)$/.exec(engines) ?? []).slice(1).map(Number);
const atLeast = (version: string) => {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > floor[0]! || (major === floor[0] && minor >= floor[1]!);
};

describe('the Node.js version', () => {
  it('is one major in .nvmrc, and engines is a floor in the form >=major.minor at or below it', () => {
    expect(nvmrcMajor).toBeGreaterThanOrEqual(20);
    expect(floor).toHaveLength(2);
    expect(atLeast(`${nvmrcMajor}.999`)).toBe(true);
  });

  it('is what every Lambda function of the app synthesizes with', () => {
    const t = buildTestApp({ envName: 'test', discordPublicKey: 'a'.repeat(64) }, { nag: false });
    const functions = t.app.node.findAll().filter((c): c is nodejs.NodejsFunction => c instanceof nodejs.NodejsFunction);
    // the workers, the HTTP ingress and the migrator
    expect(functions.length).toBeGreaterThanOrEqual(5);
    const runtimes = new Set(functions.map((f) => (f.node.defaultChild as lambda.CfnFunction).runtime));
    expect([...runtimes]).toEqual([`nodejs${nvmrcMajor}.x`]);
  });

  it("is the ingestor image's node and the esbuild target of its bundle", () => {
    const froms = [...read('ingestor/Dockerfile').matchAll(/^FROM \S*\/node:(\d+)/gm)].map((m) => Number(m[1]));
    expect(froms.length).toBeGreaterThan(0);
    expect(new Set(froms)).toEqual(new Set([nvmrcMajor]));
    expect(/--target=node(\d+)/.exec(read('ingestor/build.sh'))?.[1]).toBe(String(nvmrcMajor));
  });

  it('is at or above the engines floor on the machine running the tests', () => {
    expect(atLeast(process.versions.node)).toBe(true);
  });
});
