/**
 * The scale-out options: `redisAdapter` (sharded by default, classic selectable) and `redisCluster`, from flags,
 * environment and config file, and their validation.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfigFile, loadConfigFromEnv, parseArgs, resolveOptions } from './config';

describe('Redis scale-out options', () => {
    it('uses the sharded adapter by default and takes the classic one from a flag, the environment or a file', () => {
        assert.strictEqual(resolveOptions({}).redisAdapter, 'sharded');
        assert.strictEqual(parseArgs(['--redis-adapter', 'classic']).options.redisAdapter, 'classic');
        assert.strictEqual(loadConfigFromEnv({ COLLAB_REDIS_ADAPTER: 'classic' }).redisAdapter, 'classic');
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-options-'));
        try {
            const file = path.join(dir, 'config.json');
            fs.writeFileSync(file, JSON.stringify({ redisAdapter: 'classic', redisCluster: ['redis://127.0.0.1:7000'] }));
            assert.deepStrictEqual(loadConfigFile(file), { redisAdapter: 'classic', redisCluster: ['redis://127.0.0.1:7000'] });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.throws(() => resolveOptions({ redisAdapter: 'fancy' as never }), /redisAdapter must be sharded or classic/);
    });

    it('takes Redis Cluster nodes from a flag or the environment, and refuses them with redisUrl or without a redis:// URL', () => {
        assert.deepStrictEqual(parseArgs(['--redis-cluster', 'redis://a:7000, redis://b:7001']).options.redisCluster, ['redis://a:7000', 'redis://b:7001']);
        assert.deepStrictEqual(loadConfigFromEnv({ COLLAB_REDIS_CLUSTER: 'rediss://a:7000,rediss://b:7001' }).redisCluster, ['rediss://a:7000', 'rediss://b:7001']);
        assert.deepStrictEqual(resolveOptions({ redisCluster: ['redis://a:7000'] }).redisCluster, ['redis://a:7000']);
        assert.throws(() => resolveOptions({ redisCluster: ['redis://a:7000'], redisUrl: 'redis://b:6379' }), /exclude each other/);
        assert.throws(() => resolveOptions({ redisCluster: ['http://a:7000'] }), /redisCluster must list/);
        assert.throws(() => resolveOptions({ redisCluster: [] }), /redisCluster must list/);
    });
});
