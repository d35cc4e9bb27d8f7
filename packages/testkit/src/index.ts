export { requireTool, TOOL_PACKAGES } from './tools.js';
export { run, type RunResult, type RunOptions } from './run.js';
export { tempDir } from './tmp.js';
export { sharedDir } from './shared.js';
export { startSignetServer, SERVER_BIN, type RunningServer } from './server.js';
export { startPostgres, type TestPostgres } from './postgres.js';
export { startFakeIssuer, type FakeIssuer } from './oidc.js';
export { seedPolicyYaml } from './policy.js';
