/**
 * Collaboration settings decide what guests may see and do, so they come only from the host's own settings:
 * its user settings, else the default. Workspace and folder settings (`.theia/settings.json`,
 * `.vscode/settings.json`, a `.code-workspace` file) live in files a read-write guest could write, and are
 * ignored: a guest must not be able to switch the host's exclusions off.
 */
import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { Emitter } from '@theia/core/lib/common/event';
import {
    PreferenceChangeEvent, PreferenceDataProperty, PreferenceProxy, PreferenceSchema, PreferenceScope, PreferenceService
} from '@theia/core/lib/common/preferences';
import type { JSONValue } from '@theia/core/shared/@lumino/coreutils';

/** What is read of Theia's PreferenceService. */
export type UserScopePreferenceSource = Pick<PreferenceService, 'inspect' | 'onPreferenceChanged' | 'ready'>;

/** The host's value of `name`: its user setting, else the default; never a workspace or folder value. */
export function userScopeValue<T extends JSONValue>(preferences: Pick<PreferenceService, 'inspect'>, name: string): T | undefined {
    const inspection = preferences.inspect<T>(name);
    return inspection?.globalValue ?? inspection?.defaultValue;
}

/** `schema` with every property settable only up to the user scope (the settings UI then offers no workspace value). */
export function userScopeSchema(schema: PreferenceSchema): PreferenceSchema {
    const properties: Record<string, PreferenceDataProperty> = {};
    for (const [name, property] of Object.entries(schema.properties)) {
        properties[name] = { ...property, scope: PreferenceScope.User };
    }
    return { ...schema, scope: PreferenceScope.User, properties };
}

/**
 * A preference proxy over `schema` whose values are the host's user-or-default values (see `userScopeValue`),
 * whatever the workspace says. Change events are those of the schema's preferences (listeners read the value again).
 */
export function createUserScopePreferenceProxy<T>(preferences: UserScopePreferenceSource, schema: PreferenceSchema): PreferenceProxy<T> {
    const names = new Set(Object.keys(schema.properties));
    // Before the schema reaches the preference service, its default is the schema's.
    const valueOf = (name: string): unknown => userScopeValue(preferences, name) ?? schema.properties[name]?.default;
    const emitter = new Emitter<PreferenceChangeEvent<T>>();
    const toDispose = new DisposableCollection(emitter);
    toDispose.push(preferences.onPreferenceChanged(change => {
        if (names.has(change.preferenceName)) {
            emitter.fire({
                preferenceName: change.preferenceName as keyof T,
                affects: (resourceUri?: string) => change.affects(resourceUri)
            } as PreferenceChangeEvent<T>);
        }
    }));
    const proxy = {
        onPreferenceChanged: emitter.event,
        get ready(): Promise<void> {
            return preferences.ready;
        },
        get: (arg: string | { preferenceName: string }, defaultValue?: unknown) => {
            const name = typeof arg === 'string' ? arg : arg?.preferenceName;
            const value = typeof name === 'string' && names.has(name) ? valueOf(name) : undefined;
            return value ?? defaultValue;
        },
        dispose: () => toDispose.dispose()
    };
    return new Proxy(proxy, {
        get(target, property, receiver) {
            if (typeof property === 'string' && names.has(property)) {
                return valueOf(property);
            }
            return Reflect.get(target, property, receiver);
        },
        has(target, property) {
            return (typeof property === 'string' && names.has(property)) || Reflect.has(target, property);
        },
        set: () => false
    }) as unknown as PreferenceProxy<T>;
}
