/**
 * Runs one benchmark as a program: collects its report, prints the targets, writes the results, and
 * exits (all child processes it started are stopped by then, or killed on exit).
 */
import * as path from 'path';
import { BenchmarkReport, log, machine, printTargets, Reporter, revision, writeResults } from './report';

export interface BenchmarkDefinition {
    name: string;
    title: string;
    run(reporter: Reporter, args: string[]): Promise<void>;
}

export async function runBenchmark(definition: BenchmarkDefinition, args: string[] = []): Promise<BenchmarkReport> {
    const reporter = new Reporter();
    const started = new Date();
    log(`== ${definition.name}: ${definition.title}`);
    let status: BenchmarkReport['status'] = 'ok';
    let error: string | undefined;
    try {
        await definition.run(reporter, args);
        if (reporter.partial) {
            status = 'partial';
        }
    } catch (caught) {
        status = 'failed';
        error = caught instanceof Error ? caught.stack ?? caught.message : String(caught);
        log(`${definition.name} FAILED: ${error}`);
    }
    const report: BenchmarkReport = {
        name: definition.name,
        title: definition.title,
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        machine: machine(),
        revision: revision(),
        status,
        ...(error ? { error } : {}),
        tables: reporter.tables,
        targets: reporter.targets,
        notes: reporter.notes,
        data: reporter.data
    };
    printTargets(report.targets);
    const file = writeResults(report);
    log(`${definition.name}: ${status} in ${(report.durationMs / 1000).toFixed(1)} s, results in ${path.relative(process.cwd(), file)}`);
    return report;
}

/** `if (require.main === module) main(definition)` at the end of each benchmark module. */
export function main(definition: BenchmarkDefinition): void {
    runBenchmark(definition, process.argv.slice(2)).then(
        report => process.exit(report.status === 'failed' ? 1 : 0),
        error => {
            process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
            process.exit(1);
        }
    );
}
