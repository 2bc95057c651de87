import * as assert from 'assert';
import { AwarenessStateCheck } from './awareness-state-check';
import { AwarenessState } from './editor-protocol';

/** Small deterministic generator (the same cases every run). */
function random(seed: number): () => number {
    return () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
    };
}

const position = (next: () => number) => ({ type: null, tname: 'content', item: { client: Math.floor(next() * 1e9), clock: Math.floor(next() * 1000) }, assoc: 0 });
const valid = (next: () => number) => ({
    peer: 'peer-1', name: 'Ann', color: '#3cb44b', document: 'proj/a.ts',
    selections: [{ anchor: position(next), head: position(next) }],
    visible: { start: position(next), end: position(next) }
});

/** Ways to break (or not) a valid state, on every level the schema looks at. */
const mutations: ((state: any, next: () => number) => void)[] = [
    () => undefined,
    state => { state.extra = 1; },
    state => { state.color = 'red'; },
    state => { state.peer = ''; },
    state => { state.name = 'x'.repeat(500); },
    state => { state.document = 'no-root'; },
    state => { delete state.selections; },
    state => { delete state.visible; },
    state => { state.following = 'peer-2'; },
    state => { state.following = 'bad id!'; },
    state => { state.selections = {}; },
    state => { state.selections = Array.from({ length: 65 }, () => state.selections[0]); },
    state => { state.selections = Array.from({ length: 64 }, () => state.selections[0]); },
    state => { state.selections[0].extra = true; },
    state => { delete state.selections[0].head; },
    state => { state.selections[0].anchor.assoc = 1; },
    state => { state.selections[0].anchor.assoc = -1; },
    state => { delete state.selections[0].anchor.assoc; },
    state => { state.selections[0].anchor.assoc = 0.5; },
    state => { state.selections[0].anchor.item = null; state.selections[0].anchor.type = { client: 1, clock: 2 }; },
    state => { state.selections[0].anchor.item.clock = -1; },
    state => { state.selections[0].anchor.item.clock = 2 ** 53; },
    state => { state.selections[0].anchor.item.client = 1.5; },
    state => { state.selections[0].anchor.item.extra = 0; },
    state => { state.selections[0].head.tname = 'x'.repeat(65); },
    state => { state.selections[0].head.tname = null; },
    state => { state.selections[0].head = []; },
    state => { state.visible = { start: state.visible.start }; },
    state => { state.visible.end = 'x'; },
    state => { state.visible.extra = state.visible.start; },
    (state, next) => { state.visible.start.item = next() < 0.5 ? undefined : null; }
];

describe('awareness state check', () => {

    it('accepts and refuses exactly what the AwarenessState schema does', () => {
        const check = new AwarenessStateCheck();
        const next = random(7);
        let accepted = 0;
        let refused = 0;
        for (let round = 0; round < 3; round++) {
            for (let i = 0; i < mutations.length; i++) {
                for (let j = 0; j < mutations.length; j += 1 + Math.floor(next() * 5)) {
                    // Through JSON, as received: the check sees what JSON.parse makes.
                    const state = valid(next);
                    for (const mutate of [mutations[i], mutations[j]]) {
                        try {
                            mutate(state, next);
                        } catch {
                            // The first mutation removed what the second changes.
                        }
                    }
                    const received = JSON.parse(JSON.stringify(state));
                    const schema = AwarenessState.safeParse(JSON.parse(JSON.stringify(state)));
                    const result = check.check(received);
                    assert.deepStrictEqual(result, schema.success ? schema.data : undefined, `mutations ${i} and ${j}: ${JSON.stringify(state)}`);
                    schema.success ? accepted++ : refused++;
                }
            }
        }
        assert.ok(accepted > 20 && refused > 20, `${accepted} accepted, ${refused} refused`);
    });

    it('refuses what is not a plain object', () => {
        const check = new AwarenessStateCheck();
        for (const value of [null, 1, 'x', [], [valid(random(1))]]) {
            assert.strictEqual(check.check(value), undefined);
        }
        assert.strictEqual(check.check(JSON.parse('{"peer":"p","name":"n","color":"#000000","__proto__":{"x":1}}')), undefined);
    });
});
