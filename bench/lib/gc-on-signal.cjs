// Preloaded (`--expose-gc --require`) into the server and baseline processes of the connections
// scenario: SIGUSR2 runs a full garbage collection, so RSS is read after garbage is gone rather
// than whenever V8 last collected. Plain JavaScript: the processes it is loaded into run compiled
// code, with no TypeScript loader.
process.on("SIGUSR2", () => globalThis.gc?.());
