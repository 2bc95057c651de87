/**
 * Checks received awareness states exactly like `AwarenessState.safeParse`, for less: in a room of 30 a window
 * checks about 150 states a second, and the zod parse of a state's four relative positions was the largest
 * part of receiving one (profiles of the room30 benchmark's headless participants). The parts of a state that
 * rarely change (peer, name, colour, document, whom it follows) are checked by zod once per distinct value;
 * the caret and visible range, which change on every move, by the hand-written checks below. Anything those
 * do not accept goes through the full zod parse, so what is accepted never differs from the schema.
 */
import { AwarenessState, EditorLimits } from './editor-protocol';

const STABLE_CACHE_SIZE = 256;
const POSITION_KEYS = new Set(['type', 'tname', 'item', 'assoc']);
const ID_KEYS = new Set(['client', 'clock']);

export class AwarenessStateCheck {
    /** JSON of a state without its selections and visible range -> whether the schema accepts it. */
    protected readonly stable = new Map<string, boolean>();

    /** The state if the schema accepts it (a state as JSON.parse made it), else undefined. */
    check(state: unknown): AwarenessState | undefined {
        if (isPlainObject(state)) {
            const { selections, visible, ...rest } = state;
            if ((selections === undefined || isSelections(selections)) && (visible === undefined || isVisible(visible)) && this.stableValid(rest)) {
                return state as AwarenessState;
            }
        }
        const parsed = AwarenessState.safeParse(state);
        return parsed.success ? parsed.data : undefined;
    }

    protected stableValid(rest: Record<string, unknown>): boolean {
        const key = JSON.stringify(rest);
        let valid = this.stable.get(key);
        if (valid === undefined) {
            valid = AwarenessState.safeParse(rest).success;
            if (this.stable.size >= STABLE_CACHE_SIZE) {
                this.stable.clear();
            }
            this.stable.set(key, valid);
        }
        return valid;
    }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function hasOnlyKeys(value: Record<string, unknown>, allowed: Set<string>): boolean {
    for (const key of Object.keys(value)) {
        if (!allowed.has(key)) {
            return false;
        }
    }
    return true;
}

function isIdNumber(value: unknown): boolean {
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isYId(value: unknown): boolean {
    return isPlainObject(value) && hasOnlyKeys(value, ID_KEYS) && isIdNumber(value.client) && isIdNumber(value.clock);
}

/** `RelativePositionJson`: only what it surely accepts (the rest goes to zod). */
function isPosition(value: unknown): boolean {
    if (!isPlainObject(value) || !hasOnlyKeys(value, POSITION_KEYS)) {
        return false;
    }
    const { type, tname, item, assoc } = value;
    return (type === undefined || type === null || isYId(type))
        && (item === undefined || item === null || isYId(item))
        && (tname === undefined || tname === null || (typeof tname === 'string' && tname.length <= 64))
        && (assoc === undefined || assoc === 0 || assoc === -1);
}

function isSelections(value: unknown): boolean {
    if (!Array.isArray(value) || value.length > EditorLimits.maxSelections) {
        return false;
    }
    return value.every(selection => isPlainObject(selection) && Object.keys(selection).length === 2
        && isPosition(selection.anchor) && isPosition(selection.head));
}

function isVisible(value: unknown): boolean {
    return isPlainObject(value) && Object.keys(value).length === 2 && isPosition(value.start) && isPosition(value.end);
}
