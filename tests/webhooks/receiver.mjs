// An order-event receiver that verifies each delivery with the official Standard Webhooks library.
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
const hook = new Webhook(process.env.WEBHOOK_SECRET); // the whsec_… shown once when the endpoint was added
createServer(async (req, res) => {
  const chunks = []; for await (const chunk of req) chunks.push(chunk);
  let event; try { event = hook.verify(Buffer.concat(chunks), req.headers); } catch { return res.writeHead(400).end(); }
  console.log('verified', event.type, req.headers['webhook-id']); // dedupe by webhook-id
  res.writeHead(204).end();
}).listen(Number(process.env.PORT ?? 8000), '127.0.0.1');
