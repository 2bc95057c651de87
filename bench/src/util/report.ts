/**
 * What a benchmark reports: tables for people, targets checked, and the raw figures as JSON in
 * bench/results/<name>-<timestamp>.json and bench/results/latest.json (latest report of every benchmark).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from './proc';

export type Cell = string | number | boolean | null | undefined;

export interface Table {
    title: string;
    columns: string[];
    rows: Cell[][];
}

export interface TargetCheck {
    name: string;
    target: string;
    measured: string;
    /** null: could not be measured. */
    met: boolean | null;
}

export interface Revision {
    commit: string;
    /** Files under version control changed since that commit (work in progress was measured). */
    dirty: string[];
    /** Set when the collab-server measured came from another checkout (BENCH_COLLAB_ROOT). */
    collabRoot?: string;
}

export function revision(): Revision {
    const git = (args: string[]) => {
        try {
            return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
        } catch {
            return '';
        }
    };
    const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'collab-server', 'collab-protocol', 'collab-extension', 'browser-app'])
        .split('\n').filter(Boolean).map(line => line.slice(3));
    return { commit: git(['rev-parse', 'HEAD']), dirty, ...(process.env.BENCH_COLLAB_ROOT ? { collabRoot: process.env.BENCH_COLLAB_ROOT } : {}) };
}

export interface Machine {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    kernel: string;
}

export interface BenchmarkReport {
    name: string;
    title: string;
    startedAt: string;
    durationMs: number;
    machine: Machine;
    revision: Revision;
    status: 'ok' | 'partial' | 'skipped' | 'failed';
    error?: string;
    tables: Table[];
    targets: TargetCheck[];
    notes: string[];
    /** Raw figures, for comparing runs. */
    data: Record<string, unknown>;
}

export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

export function machine(): Machine {
    return {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${os.platform()} ${os.arch()}`,
        kernel: os.release()
    };
}

/** Collects tables, targets and data while a benchmark runs. */
export class Reporter {
    readonly tables: Table[] = [];
    readonly targets: TargetCheck[] = [];
    readonly notes: string[] = [];
    readonly data: Record<string, unknown> = {};
    partial = false;

    table(title: string, columns: string[], rows: Cell[][]): void {
        const table = { title, columns, rows };
        this.tables.push(table);
        printTable(table);
    }

    target(name: string, target: string, measured: string, met: boolean | null): void {
        this.targets.push({ name, target, measured, met });
    }

    note(text: string): void {
        this.notes.push(text);
        log(`note: ${text}`);
    }
}

export function log(message: string): void {
    process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function format(cell: Cell): string {
    if (cell === undefined || cell === null) {
        return '–';
    }
    if (typeof cell === 'number') {
        if (Number.isNaN(cell)) {
            return '–';
        }
        return Number.isInteger(cell) ? cell.toLocaleString('en-US') : cell.toLocaleString('en-US', { maximumFractionDigits: 2 });
    }
    return String(cell);
}

export function printTable(table: Table): void {
    const cells = [table.columns, ...table.rows.map(row => row.map(format))];
    const widths = table.columns.map((_, i) => Math.max(...cells.map(row => (row[i] ?? '').length)));
    const line = (row: string[]) => '| ' + row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join(' | ') + ' |';
    const out = [
        '',
        `  ${table.title}`,
        line(table.columns),
        '|' + widths.map((width, i) => i === 0 ? '-'.repeat(width + 2) : '-'.repeat(width + 1) + ':').join('|') + '|',
        ...cells.slice(1).map(line),
        ''
    ];
    process.stdout.write(out.join('\n') + '\n');
}

export function printTargets(targets: TargetCheck[]): void {
    if (!targets.length) {
        return;
    }
    printTable({
        title: 'Targets',
        columns: ['target', 'wanted', 'measured', 'met'],
        rows: targets.map(t => [t.name, t.target, t.measured, t.met === null ? 'n/a' : t.met ? 'yes' : 'NO'])
    });
}

function timestamp(date: Date): string {
    return date.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Writes `<name>-<timestamp>.json` and merges the report into `latest.json`. Returns the file written. */
export function writeResults(report: BenchmarkReport): string {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `${report.name}-${timestamp(new Date(report.startedAt))}.json`);
    fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    const latestFile = path.join(RESULTS_DIR, 'latest.json');
    let latest: { updatedAt?: string; benchmarks: Record<string, BenchmarkReport> } = { benchmarks: {} };
    try {
        const parsed = JSON.parse(fs.readFileSync(latestFile, 'utf8'));
        if (parsed && typeof parsed.benchmarks === 'object') {
            latest = parsed;
        }
    } catch {
        // first run
    }
    latest.updatedAt = new Date().toISOString();
    latest.benchmarks[report.name] = report;
    fs.writeFileSync(latestFile, JSON.stringify(latest, null, 2) + '\n');
    return file;
}
