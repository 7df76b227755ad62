// Sends a customer's journey to Hilo with the unmodified @segment/analytics-node SDK.
// Usage: node send_node.mjs HOST WRITE_KEY PREFIX   (NODE_PATH points at node_modules)
import { createRequire } from 'node:module';

const require = createRequire(process.env.NODE_PATH + '/');
const { Analytics } = require('@segment/analytics-node');

const [host, writeKey, prefix] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host, maxEventsInBatch: 3, flushInterval: 100 });
const errors = [];
analytics.on('error', (error) => errors.push(String(error?.reason ?? error?.code ?? error)));

const anonymousId = `${prefix}-device`;
const userId = `${prefix}-user`;
analytics.page({ anonymousId, name: 'Strollers', properties: { path: '/strollers' } });
analytics.identify({ userId, anonymousId, traits: { email: `${prefix}@Example.com`, name: `${prefix} name` } });
analytics.track({ userId, event: 'Order Completed', properties: { total: 99.5 } });
analytics.screen({ userId, name: 'Cart' });
analytics.group({ userId, groupId: 'company-1', traits: { name: 'ACME' } });
analytics.alias({ userId, previousId: anonymousId });
await analytics.closeAndFlush({ timeout: 10000 });
if (errors.length) {
  console.error(errors.join('\n'));
  process.exit(1);
}
