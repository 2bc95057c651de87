/**
 * Run by `harness-cleanup.e2e.spec.ts` as a separate Node process (`node cleanup-test-child.js <name>`): starts a
 * coordination server and a Theia backend through the harness, prints `{ pid, logFile }` of the backend as one
 * JSON line on stdout, then idles until the spec kills it.
 */
import { startCoordinationServer } from './coordination-server';
import { startTheiaBackend } from './theia-backend';

async function main(): Promise<void> {
    const server = await startCoordinationServer();
    const backend = await startTheiaBackend({ name: process.argv[2] ?? 'cleanup-child', serverUrl: server.url, startTimeoutMs: 120_000 });
    process.stdout.write(JSON.stringify({ pid: backend.pid, logFile: backend.logFile }) + '\n');
    // Bounded: the spec kills this process long before.
    setTimeout(() => process.exit(2), 300_000);
}

main().catch(error => {
    console.error(error);
    process.exit(1);
});
