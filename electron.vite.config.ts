import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

// main: entries sharing chunks — the Electron entry, the serve-mode entry, the engine process, the `daft` CLI
// and the data worker thread. Dependencies stay external (node_modules), so tfjs / sharp / better-sqlite3 load natively.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve('src/main/index.ts'),
          serve: resolve('src/main/serve.ts'),
          engine: resolve('src/main/engine/worker.ts'),
          cli: resolve('src/main/cli/index.ts'),
          // data worker threads (engine/data/pool.ts finds out/main/dataWorker.js at run time)
          dataWorker: resolve('src/main/engine/data/dataWorker.ts'),
        },
      },
    },
  },
  preload: {
    // a sandboxed preload must be CommonJS
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    resolve: {
      alias: {
        '@renderer': resolve('src/renderer/src'),
        '@shared': resolve('src/shared'),
      },
    },
    build: {
      outDir: 'out/renderer',
      rollupOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
    plugins: [vue()],
  },
})
