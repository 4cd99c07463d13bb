/** Wall-clock time in seconds; injected so tests can drive state machines deterministically. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now() / 1000;
