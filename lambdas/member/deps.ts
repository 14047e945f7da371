/** Clients of the member worker, built once per container on first use. */
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import type { MemberDeps } from './core';

let deps: MemberDeps | undefined;
export const memberDeps = async (): Promise<MemberDeps> => (deps ??= { pool: createPool(workerConfig()) });
