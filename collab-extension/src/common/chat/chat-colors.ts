/** Author colours, the same palette and hash the editor's awareness starts from, so a peer looks alike everywhere. */
export const CHAT_AUTHOR_COLORS = [
    '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4',
    '#f032e6', '#9a6324', '#469990', '#808000', '#000075', '#e6a700'
] as const;

export function authorColor(peerId: string): string {
    let hash = 0;
    for (let i = 0; i < peerId.length; i++) {
        hash = (Math.imul(hash, 31) + peerId.charCodeAt(i)) >>> 0;
    }
    return CHAT_AUTHOR_COLORS[hash % CHAT_AUTHOR_COLORS.length];
}
