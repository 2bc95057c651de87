/** The result of a handler: what to acknowledge, and what to do once acknowledged. */
export interface HandlerResult<T extends object = {}> {
    ack: T;
    after?: () => void;
}
