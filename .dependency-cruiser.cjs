/**
 * The layer rules of ARCHITECTURE.md as code (`npm run lint:deps`, part of `npm run lint` and CI):
 * shared imports nothing of main, preload or renderer, and no Node, Electron or tfjs; the renderer imports only
 * shared (and its own files); tfjs only under main/engine; Electron only in main/index.ts and preload; the SQLite
 * driver only in main/store; the services never import jobs (jobs implement the services' ports); the CLI never
 * imports the store (it goes through app.services); no cycles.
 * Type-only imports count too (tsPreCompilationDeps): a cycle through types is still a cycle to a reader.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'shared-is-pure',
      comment: 'src/shared is imported by both sides: it may not import main, preload or renderer code',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '^src/(main|preload|renderer)/' },
    },
    {
      name: 'shared-no-platform',
      comment: 'src/shared runs in the browser and in Node: no Node built-ins, Electron or tfjs',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'shared-no-platform-packages',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '(^|/)node_modules/(electron|@tensorflow|better-sqlite3|sharp)/' },
    },
    {
      name: 'renderer-only-shared',
      comment: 'the renderer reaches main only through the API contract (src/shared/api.ts) and its transports',
      severity: 'error',
      from: { path: '^src/renderer/' },
      to: { path: '^src/(main|preload)/' },
    },
    {
      name: 'renderer-no-node',
      severity: 'error',
      from: { path: '^src/renderer/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-no-platform-packages',
      severity: 'error',
      from: { path: '^src/renderer/' },
      to: { path: '(^|/)node_modules/(electron|@tensorflow|better-sqlite3|sharp)/' },
    },
    {
      name: 'tfjs-only-in-engine',
      comment: 'tensor code runs in the engine process only',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main/engine/' },
      to: { path: '(^|/)node_modules/@tensorflow/' },
    },
    {
      name: 'electron-only-in-entry-and-preload',
      comment: 'Electron is imported by main/index.ts and the preload only; everything else runs in serve mode and the CLI too',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main/index\\.ts|preload/)' },
      to: { path: '(^|/)node_modules/electron/' },
    },
    {
      name: 'sqlite-only-in-store',
      comment: 'every SQL statement lives in src/main/store: nothing else opens the database driver',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main/store/' },
      to: { path: '(^|/)node_modules/better-sqlite3/' },
    },
    {
      name: 'services-not-jobs',
      comment: 'the services reach the engine host and the job runner through their own ports (services/ports.ts), which jobs/ implements: jobs -> services, never the reverse (type-only imports included)',
      severity: 'error',
      from: { path: '^src/main/services/' },
      to: { path: '^src/main/jobs/' },
    },
    {
      name: 'cli-not-store',
      comment: 'the CLI is a client of the API contract (app.services, app.events), like the two UI transports: it never opens the store itself',
      severity: 'error',
      from: { path: '^src/main/cli/' },
      to: { path: '^src/main/store/' },
    },
    {
      name: 'bullmq-only-in-jobs',
      comment: 'the run queue on Redis (BullMQ and its ioredis) is job machinery: main/jobs/ only (jobs/queue/); the services reach it through their ports',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main/jobs/' },
      to: { path: '(^|/)node_modules/(bullmq|ioredis)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.node.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.vue', '.json', '.mjs', '.cjs'] },
    exclude: { path: '^(out|dist|node_modules|native/build)/' },
    reporterOptions: { dot: { collapsePattern: 'node_modules/(@[^/]+/[^/]+|[^/]+)' } },
  },
}
