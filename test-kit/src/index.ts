/**
 * @theia-collab/test-kit: run a collaboration feature against the real thing in a spec — a real coordination
 * server, a host and guests with given permissions over real protocol clients — and wait for what should happen.
 *
 * @example
 * const fixture = await SessionFixture.start();
 * const { host, guests: [reader] } = await fixture.room({ guests: ['readonly'] });
 * host.onRequest(CastVote, (params, sender) => { ... });
 * assert.equal((await rejection(reader.sendRequest(CastVote, { option: 'tabs' }))).code, 'forbidden');
 * await fixture.close();
 */
export * from './wait';
export * from './recording-logger';
export * from './session-fixture';
export * from './connections';
