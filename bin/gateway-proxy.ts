#!/usr/bin/env node
/**
 * The CDK app: reads context and environment once, validates them, and builds the stacks.
 * Every other module takes typed props (DESIGN.md section 6).
 */
import { App } from 'aws-cdk-lib';
import { loadAppConfig } from '../lib/config/app-config';

const app = new App();
const config = loadAppConfig((key) => app.node.tryGetContext(key));
void config;
app.synth();
