/**
 * The offset between this process's wall clock and a page's (both performance.timeOrigin + performance.now()),
 * so that a time taken here (an agent's edit call) and one taken in the page (the edit rendered) can be
 * subtracted. Both clocks come from the same system clock, but each origin is read once at its process's start
 * and Chromium coarsens its clock: measured rather than assumed, from the round trip of a page.evaluate.
 */
import type { Page } from 'playwright-core';
import { round } from './stats';
import { wallNow } from './time';

export interface PageClockOffset {
    /** page time = this process's time + offsetMs. */
    offsetMs: number;
    /** Half the shortest round trip: the offset is right within this. */
    uncertaintyMs: number;
}

/** The offset from the round trip with the shortest time (`samples` of them), the page's reading taken as at its middle. */
export async function pageClockOffset(page: Page, samples = 40): Promise<PageClockOffset> {
    let best: { offset: number; rtt: number } | undefined;
    for (let i = 0; i < samples; i++) {
        const sent = wallNow();
        const inPage = await page.evaluate(() => performance.timeOrigin + performance.now());
        const back = wallNow();
        const rtt = back - sent;
        if (!best || rtt < best.rtt) {
            best = { offset: inPage - (sent + back) / 2, rtt };
        }
    }
    return { offsetMs: round(best!.offset, 3), uncertaintyMs: round(best!.rtt / 2, 3) };
}
