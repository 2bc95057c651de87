/**
 * Command line: `collab-server [serve] [flags]` and `collab-server hash-secret`.
 */
import { hashSecret } from './auth';
import { loadOptions } from './config';
import { installProcessGuards } from './process-guards';
import { packageVersion, startServer } from './server';

const USAGE = `Usage:
  collab-server [serve] [options]     start the coordination server
  collab-server hash-secret [--user <id>] [--name <display name>]
                                      read a secret from stdin, print a token users entry
  collab-server --version

Options (environment variable in brackets):
  -p, --port <n>             port, 0 = any free port      [COLLAB_PORT]      8100
      --hostname <host>      address to listen on         [COLLAB_HOST]      127.0.0.1
  -c, --config <file.json>   options file                 [COLLAB_CONFIG]
      --mode <mode>          development | production     [COLLAB_MODE]      development
      --room-ttl <duration>  maximum session length       [COLLAB_ROOM_TTL]  24h
      --idle-room <duration> close rooms without traffic  [COLLAB_IDLE_ROOM] 30m
      --host-grace <d>       keep a room whose host's connection dropped [COLLAB_HOST_GRACE] 60s
      --guest-grace <d>      keep the place of a dropped guest [COLLAB_GUEST_GRACE] 2m
      --ping-interval <d>, --ping-timeout <d>  heartbeat [COLLAB_PING_INTERVAL, COLLAB_PING_TIMEOUT] 25s, 20s
      --request-timeout <d>  relayed request timeout                         30s
      --allowed-origins <a,b> browser origins, * = any    [COLLAB_ALLOWED_ORIGINS] loopback
      --providers <a,b>      anonymous, token, oidc       [COLLAB_PROVIDERS] anonymous (development)
      --allow-anonymous, --no-anonymous  anonymous login  [COLLAB_ALLOW_ANONYMOUS] on in development, off in production
      --token-users <file>   token users file             [COLLAB_TOKEN_USERS]
      --oidc-issuer <url>    OpenID Connect issuer        [COLLAB_OIDC_ISSUER]
      --oidc-client-id <id>  OIDC client id               [COLLAB_OIDC_CLIENT_ID]
      --oidc-scopes <a b>    OIDC scopes                  [COLLAB_OIDC_SCOPES] openid profile email
      --oidc-redirect-base-url <url> public server URL    [COLLAB_OIDC_REDIRECT_BASE_URL]
      --oidc-allowed-email-domains <a,b>                  [COLLAB_OIDC_ALLOWED_EMAIL_DOMAINS]
      --log-level <level>    fatal..trace, silent         [COLLAB_LOG_LEVEL] info
      --trust-proxy          use X-Forwarded-For          [COLLAB_TRUST_PROXY]
      --redis <url>          Redis: several instances act as one [COLLAB_REDIS_URL]
      --redis-prefix <p>     Redis key/channel prefix     [COLLAB_REDIS_PREFIX] collab:
      --redis-cluster <url,url>  Redis Cluster nodes (instead of --redis) [COLLAB_REDIS_CLUSTER]
      --redis-adapter <a>    sharded (Redis 7+) or classic (Redis < 7) fan-out [COLLAB_REDIS_ADAPTER] sharded
      --resume-grace <d>     members of a stopped instance may resume [COLLAB_RESUME_GRACE] 60s
      --shutdown-timeout <d> wait for events being handled [COLLAB_SHUTDOWN_TIMEOUT] 10s
      --empty-room <d>       close rooms nobody joins     [COLLAB_EMPTY_ROOM] 1h
      --token-ttl <d>        login token lifetime         [COLLAB_TOKEN_TTL] 12h
      --max-payload <bytes>  largest envelope data        [COLLAB_MAX_PAYLOAD] 1048576
      --content-bytes-per-room <bytes>  stored content per room [COLLAB_CONTENT_BYTES_PER_ROOM] 67108864
      --content-bytes <bytes> stored content per instance, 0 = off [COLLAB_CONTENT_BYTES] 536870912
      --content-reserved-bytes-per-room <bytes>  stored content no other room can evict
                                                          [COLLAB_CONTENT_RESERVED_BYTES_PER_ROOM] content-bytes/64
      --max-connections-per-address <n>  concurrent connections per address [COLLAB_MAX_CONNECTIONS_PER_ADDRESS] 200
      --login-rate <n/d>     logins per address          [COLLAB_LOGIN_RATE] 20/1m
      --join-rate <n/d>      room create/join per address [COLLAB_JOIN_RATE] 30/1m
      --event-rate <n/d>     events per socket            [COLLAB_EVENT_RATE] 500/1s
      --byte-rate <n/d>      inbound bytes per socket     [COLLAB_BYTE_RATE] 33554432/1s
      --log-rate <n/d>       log lines a client can cause, per socket and address [COLLAB_LOG_RATE] 20/10s
      --replay-window <d>    keep relayed envelopes for resuming members, 0 = off [COLLAB_REPLAY_WINDOW] 2m
      --replay-window-bytes-per-room <bytes>  replay window per room [COLLAB_REPLAY_WINDOW_BYTES_PER_ROOM] 8388608
      --replay-window-bytes <bytes>  replay windows per instance [COLLAB_REPLAY_WINDOW_BYTES] 268435456
      --no-metrics           no GET /metrics              [COLLAB_METRICS=false]
      --metrics-token <t>    /metrics needs Authorization: Bearer <t> [COLLAB_METRICS_TOKEN]
                             (prefer the environment: a flag shows in ps)
  The signing secret is only read from COLLAB_SECRET or the config file (never a flag),
  the OIDC client secret likewise from COLLAB_OIDC_CLIENT_SECRET or the config file, and the
  /api/info challenge secret from COLLAB_INFO_CHALLENGE_SECRET or the config file.
`;

async function readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) {
        chunks.push(chunk as Buffer);
        if (chunks.reduce((size, item) => size + item.length, 0) > 4096) {
            throw new Error('Secret too long');
        }
    }
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

async function hashSecretCommand(argv: string[]): Promise<number> {
    let user: string | undefined;
    let name: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--user' && argv[i + 1] !== undefined) {
            user = argv[++i];
        } else if (argv[i] === '--name' && argv[i + 1] !== undefined) {
            name = argv[++i];
        } else {
            process.stderr.write(USAGE);
            return 2;
        }
    }
    if (process.stdin.isTTY) {
        process.stderr.write('Type the secret and press Enter (it will be echoed), or pipe it in:\n');
    }
    const secret = await readStdin();
    if (secret.length < 16) {
        process.stderr.write('The secret must be at least 16 characters long.\n');
        return 1;
    }
    const hash = await hashSecret(secret);
    process.stdout.write(user ? `${JSON.stringify({ user, ...(name ? { name } : {}), secret: hash })}\n` : `${hash}\n`);
    return 0;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
    const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'serve';
    const rest = command === argv[0] ? argv.slice(1) : argv;
    if (command === 'hash-secret') {
        return hashSecretCommand(rest);
    }
    if (command !== 'serve') {
        process.stderr.write(`Unknown command '${command}'.\n${USAGE}`);
        return 2;
    }
    if (rest.includes('--version') || rest.includes('-v')) {
        process.stdout.write(`${packageVersion()}\n`);
        return 0;
    }
    let loaded;
    try {
        loaded = loadOptions(rest, process.env);
    } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        return 2;
    }
    if (loaded.help) {
        process.stdout.write(USAGE);
        return 0;
    }
    let server;
    try {
        server = await startServer(loaded.options);
    } catch (error) {
        process.stderr.write(`collab-server failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
    }
    const handle = server;
    // From now on a bug in one session's handling must not end every session: log it and go on.
    const removeGuards = installProcessGuards(handle.logger);
    return new Promise<number>(resolve => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
            if (stopping) {
                // Second signal: give up on a graceful stop.
                process.exit(1);
            }
            stopping = true;
            handle.logger.info({ signal }, 'stopping');
            handle.close().then(() => {
                removeGuards();
                resolve(0);
            }, error => {
                handle.logger.error({ err: error }, 'shutdown failed');
                removeGuards();
                resolve(1);
            });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
    });
}
