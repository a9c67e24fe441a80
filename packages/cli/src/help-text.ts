/** `redis-credentials doctor --help`. */
export const helpText = `Usage: redis-credentials doctor --host <host> [--port <port>] <credential> [options]

Checks, step by step, why a token-authenticated Redis connection fails, with a
remedy for each failure: credentials, dns, tcp, tls, auth, whoami, roundtrip,
and with --cluster every node (nodes).

Credential (exactly one):
  --entra                       Microsoft Entra ID (DefaultAzureCredential), or with:
    --tenant-id <id>            the tenant (with --client-id and --client-secret-env)
    --client-id <id>            a service principal's application (client) id
    --client-secret-env <VAR>   the variable holding its client secret
    --managed-identity [id]     a managed identity: system-assigned, or the
                                user-assigned one with this client id
  --aws                         ElastiCache or MemoryDB IAM (the AWS default chain):
    --user-id <id>              the IAM-enabled user's id (required)
    --cache-name <name>         replication group id, serverless cache or MemoryDB
                                cluster name (required)
    --region <region>           default: $AWS_REGION, then $AWS_DEFAULT_REGION
    --serverless                ElastiCache Serverless
    --memorydb                  MemoryDB instead of ElastiCache
  --gcp                         Memorystore IAM (Application Default Credentials)
  --username <user>             a static user (default: default), with
  --password-env <VAR>          the variable holding its password

Connection:
  --host <host>                 the Redis host name or IP address (required)
  --port <port>                 default 6379. Azure Managed Redis: 10000;
                                Azure Cache for Redis: 6380
  --tls / --no-tls              TLS is the default; --no-tls sends the token in clear
  --ca <file>                   PEM of the CA to trust instead of Node.js's store
  --cluster                     also check every node CLUSTER SLOTS announces

Output:
  --json                        { "ok", "steps": [{ "name", "ok", "detail", "remedy"? }] }
  --timeout-ms <ms>             per step, default 10000
  -h, --help                    this text

Exit status: 0 when every step passed, 1 when one failed, 2 for wrong flags.
The doctor never prints a token or a password.

Examples:
  redis-credentials doctor --host my-cache.westeurope.redis.azure.net --port 10000 --entra
  REDIS_PASSWORD=... redis-credentials doctor --host 10.0.0.5 --username app --password-env REDIS_PASSWORD
  redis-credentials doctor --host clustercfg.my-cache.abc123.use1.cache.amazonaws.com --cluster \\
    --aws --user-id app-user --cache-name my-cache --region us-east-1
`;
