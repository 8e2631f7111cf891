"""A process outside the cluster: the node serves one line of text on its bridge address,
which the selectorless Service `banner` (aliases.yaml) points at by hand-written Endpoints.
Usage: python3 banner.py [ADDRESS] [PORT] (default 10.244.0.1 8090). It binds with
IP_FREEBIND, so it may start before `kplane up` has put that address on the bridge."""
import socket
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ADDRESS = sys.argv[1] if len(sys.argv) > 1 else "10.244.0.1"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8090
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


class Banner(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Served from outside the cluster, by a process on the node at %s:%d\n" % (ADDRESS.encode(), PORT)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FreeBindServer(HTTPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        super().server_bind()


FreeBindServer((ADDRESS, PORT), Banner).serve_forever()
