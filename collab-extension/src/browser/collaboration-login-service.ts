import { inject, injectable, named } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { Progress } from '@theia/core/lib/common/message-service-protocol';
import { nls } from '@theia/core/lib/common/nls';
import { QuickInputService, QuickPickItem } from '@theia/core/lib/common/quick-pick-service';
import { WindowService } from '@theia/core/lib/browser/window/window-service';
import {
    CollaborationError, getServerInfo, LoginProviderId, LoginResult, loginWithToken, pollOidcLogin, ServerInfo, startOidcLogin
} from '@theia-collab/protocol';

/**
 * How this window logs in to a collaboration server: asks which login the server offers when there is
 * a choice (or none but a non-anonymous one), then gets a login token. Tokens are kept in memory for
 * this window only (never in local storage) and reused until shortly before they expire.
 */
export const CollaborationLoginService = Symbol('CollaborationLoginService');
export interface CollaborationLoginService {
    /**
     * A login token for `serverUrl`, or `undefined` for an anonymous login with the display name
     * (which the client does itself). Rejects with code `cancelled` when the user cancels.
     */
    getToken(serverUrl: string, signal?: AbortSignal): Promise<string | undefined>;
    /** Forgets the token kept for `serverUrl`, e.g. after the server refused it. */
    forget(serverUrl: string): void;
}

/** Reuse a kept token only while it is valid for at least this long. */
const TOKEN_MARGIN_MS = 2 * 60 * 1000;

type ProviderItem = QuickPickItem & { provider: ServerInfo['providers'][number] };

@injectable()
export class CollaborationLoginServiceImpl implements CollaborationLoginService {

    @inject(QuickInputService)
    protected readonly quickInput: QuickInputService;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(WindowService)
    protected readonly windowService: WindowService;

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    protected readonly tokens = new Map<string, LoginResult>();
    protected readonly lastProvider = new Map<string, LoginProviderId>();

    forget(serverUrl: string): void {
        this.tokens.delete(key(serverUrl));
    }

    async getToken(serverUrl: string, signal?: AbortSignal): Promise<string | undefined> {
        const kept = this.tokens.get(key(serverUrl));
        if (kept && kept.expiresAt - Date.now() > TOKEN_MARGIN_MS) {
            return kept.token;
        }
        this.forget(serverUrl);
        let info: ServerInfo;
        try {
            info = await getServerInfo(serverUrl, signal);
        } catch (error) {
            if (signal?.aborted) {
                throw cancelled();
            }
            // An older server without /api/info, or unreachable: connecting will tell.
            this.logger.warn('collaboration: cannot read the server description', error);
            return undefined;
        }
        const providers = info.providers.filter(provider => provider.id === 'anonymous' || provider.id === 'token' || provider.id === 'oidc');
        if (providers.length === 0) {
            throw new CollaborationError('unauthorized', nls.localize('collaboration/login/noProvider',
                'The collaboration server offers no login this version of Theia supports.'));
        }
        if (providers.length === 1 && providers[0].id === 'anonymous') {
            return undefined;
        }
        const provider = providers.length === 1 ? providers[0] : await this.pickProvider(serverUrl, providers);
        if (!provider || signal?.aborted) {
            throw cancelled();
        }
        this.lastProvider.set(key(serverUrl), provider.id);
        const result = provider.id === 'anonymous' ? undefined
            : provider.id === 'token' ? await this.tokenLogin(serverUrl, signal)
                : await this.oidcLogin(serverUrl, provider.label, signal);
        if (result) {
            this.tokens.set(key(serverUrl), result);
        }
        return result?.token;
    }

    protected async pickProvider(serverUrl: string, providers: ServerInfo['providers']): Promise<ServerInfo['providers'][number] | undefined> {
        const items: ProviderItem[] = providers.map(provider => ({
            provider,
            label: provider.id === 'anonymous'
                ? nls.localize('collaboration/login/anonymous', 'Anonymous (display name only)')
                : provider.label,
            description: provider.id === 'token' ? nls.localize('collaboration/login/tokenDescription', 'user name and secret')
                : provider.id === 'oidc' ? nls.localize('collaboration/login/oidcDescription', 'in your browser') : undefined
        }));
        const last = this.lastProvider.get(key(serverUrl));
        const picked = await this.quickInput.showQuickPick(items, {
            title: nls.localize('collaboration/login/title', 'Log in to {0}', hostOf(serverUrl)),
            placeholder: nls.localize('collaboration/login/pick', 'How do you want to log in to the collaboration server?'),
            activeItem: items.find(item => item.provider.id === last),
            ignoreFocusOut: true
        });
        return picked?.provider;
    }

    protected async tokenLogin(serverUrl: string, signal?: AbortSignal): Promise<LoginResult> {
        const title = nls.localize('collaboration/login/tokenTitle', 'Log in to {0}', hostOf(serverUrl));
        const user = await this.quickInput.input({
            title,
            prompt: nls.localize('collaboration/login/user', 'User name'),
            ignoreFocusLost: true,
            validateInput: async value => value.trim() ? undefined : nls.localize('collaboration/login/userRequired', 'Enter your user name.')
        });
        if (!user?.trim() || signal?.aborted) {
            throw cancelled();
        }
        const secret = await this.quickInput.input({
            title,
            prompt: nls.localize('collaboration/login/secret', 'Secret for {0}', user.trim()),
            password: true,
            ignoreFocusLost: true
        });
        if (!secret || signal?.aborted) {
            throw cancelled();
        }
        return loginWithToken(serverUrl, user.trim(), secret, signal);
    }

    /** Opens the identity provider in the browser and waits (cancellable) until the server has the login. */
    protected async oidcLogin(serverUrl: string, label: string, signal?: AbortSignal): Promise<LoginResult> {
        const polling = new AbortController();
        const abort = () => polling.abort();
        signal?.addEventListener('abort', abort, { once: true });
        let progress: Progress | undefined;
        let done = false;
        try {
            const started = await startOidcLogin(serverUrl, polling.signal);
            const open = () => this.windowService.openNewWindow(started.authorizeUrl, { external: true });
            const openAgain = nls.localize('collaboration/login/openAgain', 'Open Login Page');
            const show = async (): Promise<void> => {
                progress = await this.messageService.showProgress({
                    text: nls.localize('collaboration/login/waiting',
                        'Log in with {0} in the browser tab that opened, then come back here.', label),
                    actions: [openAgain],
                    options: { cancelable: true }
                }, abort);
                progress.result.then(action => {
                    if (action === openAgain && !done && !polling.signal.aborted) {
                        open();
                        show();
                    }
                });
                if (done) {
                    progress.cancel();
                }
            };
            open();
            show();
            return await pollOidcLogin(serverUrl, started.loginId, {
                signal: polling.signal, intervalMs: started.pollIntervalMs, deadline: started.expiresAt
            });
        } catch (error) {
            throw polling.signal.aborted ? cancelled() : error;
        } finally {
            done = true;
            signal?.removeEventListener('abort', abort);
            progress?.cancel();
        }
    }
}

function cancelled(): CollaborationError {
    return new CollaborationError('cancelled', nls.localize('collaboration/login/cancelled', 'The login was cancelled.'));
}

function key(serverUrl: string): string {
    return serverUrl.trim().replace(/\/+$/, '');
}

function hostOf(serverUrl: string): string {
    try {
        return new URL(serverUrl).host;
    } catch {
        return serverUrl;
    }
}
