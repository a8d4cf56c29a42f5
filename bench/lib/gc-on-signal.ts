// Preloaded (`--expose-gc --import`) into the server and baseline processes of the connections
// scenario: SIGUSR2 runs a full garbage collection, so RSS is read after garbage is gone rather
// than whenever V8 last collected.
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.());
