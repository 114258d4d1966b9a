#!/usr/bin/env python3
"""Local web servers for the async_curl and areq tests (127.0.0.1 only).

    python3 tests/curl/server.py DIR [--h2]

Makes a throwaway certificate authority in DIR with the openssl command
(DIR/ca.pem), then serves the same small site on three listeners:

    http    plain HTTP/1.1 with keep-alive
    https   TLS, certificate for localhost and 127.0.0.1 signed by DIR/ca.pem
    badtls  TLS, certificate signed by another CA (fails verification)
    h2      (with --h2) nghttpd serving DIR/h2 over HTTP/2 with the good cert

and prints one line, "http=PORT https=PORT badtls=PORT h2=PORT", once all
listen.  It exits when its standard input closes (the test that started it
ended), on SIGTERM, or after 10 minutes whatever happens, and removes DIR.

Pages (any listener):
    /                      an index with links (relative, absolute, repeated)
    /page/N                a page linking to /page/N+1 and ../up
    /slow/N?ms=T           answers after T ms (default 1000)
    /hang                  sends the head and part of the body, then stalls
    /redirect?to=PATH      302 to PATH
    /loop                  302 to itself
    /moved                 301 to /dir/final.html (relative links there)
    /gzip, /deflate        compressed with that Content-Encoding (always)
    /chunked               chunked, in pieces with pauses
    /gzipchunked           both
    /big?n=BYTES           HTML of that size with a Content-Length
    /bigchunked?n=BYTES    the same, chunked (no length in advance)
    /image.png             Content-Type image/png
    /text.txt              Content-Type text/plain
    /stats                 "connections=N requests=M" for this listener
    /walk/...              the walkthrough's site shape (see WALK below)
    anything else          404
"""
import gzip
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LIFETIME = 600  # seconds: the server stops by itself after this

INDEX = (
    '<html><head><title>index</title></head><body>\n'
    '<a href="/page/1">one</a> <a href="page/2">two</a>\n'
    '<a HREF="http://other.example/x">elsewhere</a>\n'
    '<a href="page/2">two again</a> <a href="#top">top</a>\n'
    '<a href="dir/../page/3?q=1">three</a>\n'
    '</body></html>\n')

# The walkthrough's urls.txt, in shape: a front page, a 404, a section, a
# redirect, a compressed page, a plain text file.
WALK = {
    '/walk/': '<a href="/walk/guides/">guides</a> <a href="about.html">about</a> '
              '<a href="https://www.example.org/feed">feed</a>',
    '/walk/guides/': '<a href="../">home</a> <a href="a/b.html">b</a> '
                     '<a href="//cdn.example.net/lib.js">lib</a>',
    '/walk/markets/economics': '<a href="/walk/markets/">markets</a> '
                               '<a href="rates?x=1&amp;y=2">rates</a>',
    '/walk/tipsheets/final/': '<a href="money.html">money</a> <a href="/walk/">home</a>',
}

stats_lock = threading.Lock()
stats = {}  # listener name -> [connections, requests]


def html(body):
    return ('<html><body>\n' + body + '\n</body></html>\n').encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'areq-test'
    disable_nagle_algorithm = True  # no 40 ms stall between head and body

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        with stats_lock:
            stats.setdefault(self.server.name, [0, 0])[0] += 1

    def send(self, code, body, ctype='text/html', headers=()):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_chunked(self, pieces, ctype='text/html', headers=(), pause=0.05):
        self.send_response(200)
        self.send_header('Content-Type', ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        for p in pieces:
            self.wfile.write(b'%x\r\n%s\r\n' % (len(p), p))
            self.wfile.flush()
            time.sleep(pause)
        self.wfile.write(b'0\r\n\r\n')

    def redirect(self, code, to):
        self.send(code, b'moved', headers=[('Location', to)])

    def do_GET(self):
        with stats_lock:
            stats.setdefault(self.server.name, [0, 0])[1] += 1
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        p = u.path
        if p == '/':
            self.send(200, INDEX.encode())
        elif p.startswith('/page/'):
            n = int(p[6:] or 0)
            self.send(200, html('<a href="/page/%d">next</a> <a href="../up">up</a>' % (n + 1)))
        elif p.startswith('/slow/'):
            time.sleep(int(q.get('ms', ['1000'])[0]) / 1000)
            self.send(200, html('<a href="/after%s">after</a>' % p))
        elif p == '/hang':
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', '1000')
            self.end_headers()
            self.wfile.write(b'<html><a href="/never">never</a>')
            self.wfile.flush()
            time.sleep(LIFETIME)
        elif p == '/redirect':
            self.redirect(302, q.get('to', ['/'])[0])
        elif p == '/loop':
            self.redirect(302, '/loop')
        elif p == '/moved':
            self.redirect(301, '/dir/final.html')
        elif p == '/dir/final.html':
            self.send(200, html('<a href="sibling.html">s</a> <a href="../top.html">t</a>'))
        elif p == '/gzip':
            body = gzip.compress(html('<a href="/from-gzip">g</a>'))
            self.send(200, body, headers=[('Content-Encoding', 'gzip')])
        elif p == '/deflate':
            body = zlib.compress(html('<a href="/from-deflate">d</a>'))
            self.send(200, body, headers=[('Content-Encoding', 'deflate')])
        elif p == '/chunked':
            self.send_chunked([b'<html><a href="/ch', b'unk/one.html">1</a> ',
                               b'<a href="two.html">2</a></html>'])
        elif p == '/gzipchunked':
            body = gzip.compress(html('<a href="/from-gzip-chunked">gc</a>'))
            self.send_chunked([body[:10], body[10:]], headers=[('Content-Encoding', 'gzip')])
        elif p in ('/big', '/bigchunked'):
            n = int(q.get('n', ['100000'])[0])
            body = (b'<html><a href="/in-big">b</a>' + b'x' * n)[:n]
            if p == '/big':
                self.send(200, body)
            else:
                self.send_chunked([body[i:i + 4096] for i in range(0, len(body), 4096)], pause=0)
        elif p == '/image.png':
            self.send(200, b'\x89PNG\r\n\x1a\n' + b'\0' * 64, ctype='image/png')
        elif p == '/text.txt':
            self.send(200, b'see <a href="/x">x</a>\n', ctype='text/plain')
        elif p == '/stats':
            with stats_lock:
                c, r = stats.get(self.server.name, [0, 0])
            self.send(200, b'connections=%d requests=%d' % (c, r - 1), ctype='text/plain')
        elif p == '/walk/tipsheets/morning-money':
            self.redirect(302, '/walk/tipsheets/final/')
        elif p == '/walk/rfc/rfc2616.txt':
            self.send(200, b'Hypertext Transfer Protocol -- HTTP/1.1\n', ctype='text/plain')
        elif p == '/walk/markets/economics':
            body = gzip.compress(html(WALK[p]))
            self.send_chunked([body[:20], body[20:]], headers=[('Content-Encoding', 'gzip')])
        elif p in WALK:
            self.send(200, html(WALK[p]))
        else:
            self.send(404, b'not found')


class Server(ThreadingHTTPServer):
    request_queue_size = 512  # 100 clients connecting at once all get in


class TLSServer(Server):
    """Handshakes in the request's thread, so a stalled client stalls nobody."""
    ctx = None

    def get_request(self):
        sock, addr = super().get_request()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    """DIR/ca.pem signs DIR/good.pem (localhost, 127.0.0.1); DIR/rogue.pem,
    a CA nobody trusts, signs DIR/bad.pem for the same names."""
    ext = os.path.join(d, 'san.cnf')
    with open(ext, 'w') as f:
        f.write('subjectAltName=DNS:localhost,IP:127.0.0.1\n')
    key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    for ca, leaf in (('ca', 'good'), ('rogue', 'bad')):
        openssl('req', '-x509', *key, '-days', '1', '-subj', '/CN=areq test %s' % ca,
                '-keyout', os.path.join(d, ca + '.key'), '-out', os.path.join(d, ca + '.pem'))
        openssl('req', *key, '-subj', '/CN=localhost',
                '-keyout', os.path.join(d, leaf + '.key'), '-out', os.path.join(d, leaf + '.csr'))
        openssl('x509', '-req', '-days', '1', '-in', os.path.join(d, leaf + '.csr'),
                '-CA', os.path.join(d, ca + '.pem'), '-CAkey', os.path.join(d, ca + '.key'),
                '-CAcreateserial', '-extfile', ext, '-out', os.path.join(d, leaf + '.pem'))


def quiet(request, client_address):  # a client that gave up is not news
    pass


def serve(name, server):
    server.name = name
    server.handle_error = quiet
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def tls_server(d, leaf):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, leaf + '.pem'), os.path.join(d, leaf + '.key'))
    ctx.set_alpn_protocols(['http/1.1'])
    s = TLSServer(('127.0.0.1', 0), Handler)
    s.ctx = ctx
    return s


def start_h2(d):
    """nghttpd over TLS (ALPN h2) serving DIR/h2; returns (port, process)."""
    root = os.path.join(d, 'h2')
    os.makedirs(os.path.join(root, 'sub'), exist_ok=True)
    with open(os.path.join(root, 'index.html'), 'w') as f:
        f.write('<a href="sub/a.html">a</a> <a href="/sub/b.html">b</a>')
    for n in 'ab':
        with open(os.path.join(root, 'sub', n + '.html'), 'w') as f:
            f.write('<a href="../index.html">up</a>')
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen(['nghttpd', '-a', '127.0.0.1', '-d', root, str(port),
                             os.path.join(d, 'good.key'), os.path.join(d, 'good.pem')],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):  # until it listens
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    return port, proc


def main():
    d = sys.argv[1]
    make_certs(d)
    ports = {
        'http': serve('http', Server(('127.0.0.1', 0), Handler)),
        'https': serve('https', tls_server(d, 'good')),
        'badtls': serve('badtls', tls_server(d, 'bad')),
    }
    h2 = None
    if '--h2' in sys.argv:
        ports['h2'], h2 = start_h2(d)
    print(' '.join('%s=%d' % kv for kv in ports.items()), flush=True)

    def stop():  # the directory is the test's scratch space too: it goes with us
        if h2:
            h2.kill()
        shutil.rmtree(d, ignore_errors=True)
        os._exit(0)

    threading.Timer(LIFETIME, stop).start()
    import signal
    signal.signal(signal.SIGTERM, lambda *a: stop())
    try:
        sys.stdin.read()  # until the test closes our stdin or dies
    finally:
        stop()


if __name__ == '__main__':
    main()
