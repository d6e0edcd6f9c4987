#!/usr/bin/env node
// `npx daft ...`: runs the CLI from the TypeScript sources through tsx (a runtime dependency), so the
// command works straight after `npm install`, without a build.
import { register } from 'tsx/esm/api'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

register()
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
await import(pathToFileURL(join(root, 'src', 'main', 'cli', 'index.ts')).href)
