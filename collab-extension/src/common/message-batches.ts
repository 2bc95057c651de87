/**
 * Splits `items` into messages of at most `maxItems` items and about `budget` characters of JSON each
 * (an item larger than the budget goes alone), keeping their order.
 */
export function batchesWithinBudget<T>(items: readonly T[], budget: number, maxItems: number): T[][] {
    const result: T[][] = [];
    let current: T[] = [];
    let used = 0;
    for (const item of items) {
        const size = JSON.stringify(item).length + 1;
        if (current.length > 0 && (used + size > budget || current.length >= maxItems)) {
            result.push(current);
            current = [];
            used = 0;
        }
        current.push(item);
        used += size;
    }
    if (current.length > 0) {
        result.push(current);
    }
    return result;
}
