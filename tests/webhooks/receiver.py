# An order-event receiver that verifies each delivery with the official Standard Webhooks library.
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from standardwebhooks.webhooks import Webhook
hook = Webhook(os.environ["WEBHOOK_SECRET"])  # the whsec_… shown once when the endpoint was added
class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try: event = hook.verify(body, dict(self.headers))
        except Exception: self.send_response(400); self.end_headers(); return
        print("verified", event["type"], self.headers["webhook-id"], flush=True)  # dedupe by webhook-id
        self.send_response(204); self.end_headers()
HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Receiver).serve_forever()
