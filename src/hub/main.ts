// `npm start`: serve Lifecycle Hub on PORT, on PGlite under DATA_DIR or on DATABASE_URL.
import { loadConfig } from './config.ts';
import { createHub } from './hub.ts';
import { startServer } from '../http/server.ts';
import { createLogger } from './logger.ts';
import { keepServingOnStrayErrors } from '../observability/stray-errors.ts';

const logger = createLogger(process.env.LOG_LEVEL);

async function main() {
  const config = loadConfig();
  const { hub, bootstrapAdminKey, generatedEncryptionKey } = await createHub(config, { logger });
  keepServingOnStrayErrors(logger, hub.metrics);
  const running = await startServer(hub);
  const database = config.databaseUrl ? `PostgreSQL (${new URL(config.databaseUrl).host})` : `embedded PGlite in ${config.dataDir}`;
  logger.info({ url: running.url, database, connectors: hub.registry.list().map((c) => c.id) }, 'Lifecycle Hub is serving');
  // One write, so whoever reads the banner sees it whole.
  let banner = `\n  Lifecycle Hub  ${running.url}/graphql   (GraphiQL in a browser)\n  Database       ${database}\n`;
  if (generatedEncryptionKey) banner += `  Secrets key    generated at ${generatedEncryptionKey} (set ENCRYPTION_KEY to manage it yourself)\n`;
  if (bootstrapAdminKey) {
    banner += `\n  Admin API key (shown once, only its hash is stored):\n\n    ${bootstrapAdminKey}\n\n  Use it as:  Authorization: Bearer <key>\n`;
  }
  process.stdout.write(`${banner}\n`);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('shutdown took over 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    try {
      await running.stop();
      await hub.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: Error) => {
  logger.fatal({ err: error }, error.message);
  process.stderr.write(`\nLifecycle Hub could not start: ${error.message}\n`);
  process.exit(1);
});
