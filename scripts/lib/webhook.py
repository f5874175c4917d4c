"""A webhook receiver for the SNS and CloudWatch scenarios (loopback only).

Usage: python3 scripts/lib/webhook.py PORT FILE — appends every POSTed JSON body to FILE,
one document per line, with the x-amz-sns-message-type header as "_header_type", and
answers 200.
"""
import http.server
import json
import sys


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        doc = json.loads(body)
        doc["_header_type"] = self.headers.get("x-amz-sns-message-type")
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps(doc) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
