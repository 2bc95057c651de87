import { nls } from '@theia/core/lib/common/nls';
import { AbstractDialog, Dialog, DialogError, DialogMode } from '@theia/core/lib/browser/dialogs';
import { Message } from '@theia/core/lib/browser/widgets/widget';
import { MaybePromise } from '@theia/core/lib/common/types';
import { Invite, Permission } from '@theia-collab/protocol';

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    if (className) {
        node.className = className;
    }
    if (text !== undefined) {
        node.textContent = text;
    }
    return node;
}

function labelledInput(parent: HTMLElement, label: string, className: string, value: string, readOnly: boolean): HTMLInputElement {
    const row = element('label', 'collaboration-dialog-field');
    row.appendChild(element('span', 'collaboration-dialog-label', label));
    const input = element('input', `theia-input ${className}`);
    input.type = 'text';
    input.spellcheck = false;
    input.value = value;
    input.readOnly = readOnly;
    row.appendChild(input);
    parent.appendChild(row);
    return input;
}

export interface InviteDialogProps {
    readonly invite: Invite;
    /** Copies text to the clipboard; resolves false when that was not possible. */
    readonly copy: (text: string) => Promise<boolean>;
    /** Whether the code was already copied when the dialog opened. */
    readonly copied: boolean;
}

/** Shows the host the invite code and link, with copy buttons. */
export class CollaborationInviteDialog extends AbstractDialog<void> {
    protected readonly statusNode: HTMLElement;

    constructor(protected readonly inviteProps: InviteDialogProps) {
        super({ title: nls.localize('collaboration/inviteTitle', 'Collaboration Session Started'), maxWidth: 640, wordWrap: 'break-word' });
        this.addClass('collaboration-invite-dialog');
        const { invite } = inviteProps;
        this.contentNode.appendChild(element('div', 'collaboration-dialog-text', nls.localize('collaboration/inviteText',
            'Share this invite with the people you want to collaborate with. You approve everyone who asks to join.')));
        this.addCopyRow(nls.localize('collaboration/inviteCode', 'Invite code'), 'collaboration-invite-code', invite.code);
        this.addCopyRow(nls.localize('collaboration/inviteLink', 'Invite link'), 'collaboration-invite-link', invite.link);
        this.statusNode = this.contentNode.appendChild(element('div', 'collaboration-dialog-status'));
        this.statusNode.textContent = inviteProps.copied ? nls.localize('collaboration/inviteCopied', 'The invite code was copied to the clipboard.') : '';
        this.appendAcceptButton(Dialog.OK);
    }

    protected addCopyRow(label: string, className: string, value: string): void {
        const row = element('div', 'collaboration-dialog-copy-row');
        const input = labelledInput(row, label, className, value, true);
        input.addEventListener('focus', () => input.select());
        const button = element('button', 'theia-button secondary collaboration-copy-button', nls.localizeByDefault('Copy'));
        button.title = nls.localize('collaboration/copyTo', 'Copy {0} to the clipboard', label.toLowerCase());
        button.addEventListener('click', async () => {
            const copied = await this.inviteProps.copy(value);
            this.statusNode.textContent = copied
                ? nls.localize('collaboration/copied', 'Copied {0} to the clipboard.', label.toLowerCase())
                : nls.localize('collaboration/copyFailed', 'Could not access the clipboard: select the text and copy it yourself.');
        });
        row.appendChild(button);
        this.contentNode.appendChild(row);
    }

    get value(): void {
        return undefined;
    }
}

export interface JoinDialogResult {
    invite: string;
    name: string;
}

export interface JoinDialogProps {
    readonly initialInvite?: string;
    readonly initialName?: string;
    readonly validateInvite: (invite: string) => string | undefined;
    readonly validateName: (name: string) => string | undefined;
}

/** Asks a guest for the invite and the name to show to the others. */
export class CollaborationJoinDialog extends AbstractDialog<JoinDialogResult> {
    protected readonly inviteInput: HTMLInputElement;
    protected readonly nameInput: HTMLInputElement;

    constructor(protected readonly joinProps: JoinDialogProps) {
        super({ title: nls.localize('collaboration/joinTitle', 'Join Collaboration Session'), maxWidth: 560 });
        this.addClass('collaboration-join-dialog');
        this.inviteInput = labelledInput(this.contentNode, nls.localize('collaboration/joinInvite', 'Invite code or link'),
            'collaboration-join-invite', joinProps.initialInvite ?? '', false);
        this.inviteInput.placeholder = nls.localize('collaboration/joinInvitePlaceholder', 'Paste the invite you received from the host');
        this.nameInput = labelledInput(this.contentNode, nls.localize('collaboration/joinName', 'Your name'),
            'collaboration-join-name', joinProps.initialName ?? '', false);
        this.nameInput.placeholder = nls.localize('collaboration/joinNamePlaceholder', 'How others will see you');
        this.controlPanel.removeChild(this.errorMessageNode);
        this.contentNode.appendChild(this.errorMessageNode);
        this.appendCloseButton(Dialog.CANCEL);
        this.appendAcceptButton(nls.localize('collaboration/join', 'Join'));
    }

    get value(): JoinDialogResult {
        return { invite: this.inviteInput.value.trim(), name: this.nameInput.value.trim() };
    }

    protected override isValid(value: JoinDialogResult, mode: DialogMode): MaybePromise<DialogError> {
        if (mode === 'preview' && (!value.invite || !value.name)) {
            // Do not shout at an empty form; just keep Join disabled.
            return { message: '', result: !!value.invite && !!value.name };
        }
        return this.joinProps.validateInvite(value.invite) ?? this.joinProps.validateName(value.name) ?? '';
    }

    protected override onAfterAttach(msg: Message): void {
        super.onAfterAttach(msg);
        this.addUpdateListener(this.inviteInput, 'input');
        this.addUpdateListener(this.nameInput, 'input');
    }

    protected override onActivateRequest(msg: Message): void {
        (this.inviteInput.value ? this.nameInput : this.inviteInput).focus();
    }
}

export interface NameDialogProps {
    readonly initialName?: string;
    readonly validateName: (name: string) => string | undefined;
}

/** Asks the host once for the name to show to guests. */
export class CollaborationNameDialog extends AbstractDialog<string> {
    protected readonly nameInput: HTMLInputElement;

    constructor(protected readonly nameProps: NameDialogProps) {
        super({ title: nls.localize('collaboration/startTitle', 'Start Collaboration Session'), maxWidth: 480 });
        this.addClass('collaboration-name-dialog');
        this.nameInput = labelledInput(this.contentNode, nls.localize('collaboration/joinName', 'Your name'),
            'collaboration-name-input', nameProps.initialName ?? '', false);
        this.nameInput.placeholder = nls.localize('collaboration/joinNamePlaceholder', 'How others will see you');
        this.controlPanel.removeChild(this.errorMessageNode);
        this.contentNode.appendChild(this.errorMessageNode);
        this.appendCloseButton(Dialog.CANCEL);
        this.appendAcceptButton(nls.localize('collaboration/start', 'Start'));
    }

    get value(): string {
        return this.nameInput.value.trim();
    }

    protected override isValid(value: string, mode: DialogMode): MaybePromise<DialogError> {
        if (mode === 'preview' && !value) {
            return { message: '', result: false };
        }
        return this.nameProps.validateName(value) ?? '';
    }

    protected override onAfterAttach(msg: Message): void {
        super.onAfterAttach(msg);
        this.addUpdateListener(this.nameInput, 'input');
    }

    protected override onActivateRequest(msg: Message): void {
        this.nameInput.focus();
    }
}

export type JoinRequestDecision = Permission | 'deny';

export interface JoinRequestDialogProps {
    readonly name: string;
    readonly fingerprint: string;
    /** The guest says it is a program (a bot, an AI agent), not a person. */
    readonly program?: boolean;
}

/** Asks the host whether to let a guest in, and with which permission. */
export class CollaborationJoinRequestDialog extends AbstractDialog<JoinRequestDecision> {
    protected decision: JoinRequestDecision = 'deny';

    constructor(protected readonly requestProps: JoinRequestDialogProps) {
        super({ title: nls.localize('collaboration/joinRequestTitle', 'Join Request'), maxWidth: 560, wordWrap: 'break-word' });
        this.addClass('collaboration-join-request-dialog');
        const text = element('div', 'collaboration-dialog-text');
        text.appendChild(element('strong', 'collaboration-join-request-name', requestProps.name));
        if (requestProps.program) {
            const marker = element('span', 'collaboration-join-request-program');
            marker.appendChild(element('i', 'codicon codicon-robot'));
            marker.appendChild(document.createTextNode(' ' + nls.localize('collaboration/programMarker', '(program)')));
            text.appendChild(document.createTextNode(' '));
            text.appendChild(marker);
        }
        text.appendChild(document.createTextNode(' ' + nls.localize('collaboration/joinRequestText', 'wants to join your collaboration session.')));
        this.contentNode.appendChild(text);
        if (requestProps.program) {
            // Its own word: a person could claim it too, so it says nothing about trust.
            this.contentNode.appendChild(element('div', 'collaboration-dialog-hint collaboration-join-request-program-hint', nls.localize('collaboration/joinRequestProgramHint',
                'It says it is a program (a bot or an AI agent), not a person. Admitted, it can do what a guest with the same permission can.')));
        }
        const fingerprint = element('div', 'collaboration-dialog-fingerprint');
        fingerprint.appendChild(element('span', 'collaboration-dialog-label', nls.localize('collaboration/keyFingerprint', 'Key fingerprint')));
        fingerprint.appendChild(element('code', 'collaboration-join-request-fingerprint', requestProps.fingerprint));
        this.contentNode.appendChild(fingerprint);
        this.contentNode.appendChild(element('div', 'collaboration-dialog-hint', nls.localize('collaboration/joinRequestHint',
            'They asked with one of your invites. Whoever you admit, read-only too, can read everything shared in this session: if in doubt, compare the fingerprint with the one the guest sees.')));
        this.closeButton = this.appendDecisionButton(nls.localize('collaboration/deny', 'Deny'), 'deny', false, 'collaboration-deny');
        this.appendDecisionButton(nls.localize('collaboration/allowReadOnly', 'Allow read-only'), 'readonly', false, 'collaboration-allow-readonly');
        this.appendDecisionButton(nls.localize('collaboration/allowReadWrite', 'Allow read-write'), 'readwrite', true, 'collaboration-allow-readwrite');
    }

    protected appendDecisionButton(text: string, decision: JoinRequestDecision, primary: boolean, className: string): HTMLButtonElement {
        const button = this.appendButton(text, primary);
        button.classList.add(className);
        button.addEventListener('click', () => {
            this.decision = decision;
            this.accept();
        });
        return button;
    }

    get value(): JoinRequestDecision {
        return this.decision;
    }

    /** Enter does not admit anyone by accident. */
    protected override handleEnter(event: KeyboardEvent): boolean | void {
        return false;
    }

    protected override onActivateRequest(msg: Message): void {
        this.closeButton?.focus();
    }
}
