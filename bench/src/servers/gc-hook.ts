/**
 * Preloaded (`node --expose-gc -r .../gc-hook.js server.js`) into every server process a benchmark
 * starts: SIGUSR2 runs a full garbage collection, so resident memory can be read in a settled state.
 */
process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
});
