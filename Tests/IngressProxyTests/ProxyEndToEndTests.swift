import Foundation
import KubeModel
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import IngressProxy

/// A proxy on 127.0.0.1 port 0 (HTTP and HTTPS) in front of real backends, driven by curl.
final class ProxyHarness: Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let state = IngressState()
    let server: IngressServer
    let backends: [String: TestBackend]
    let httpPort: Int
    let httpsPort: Int
    let defaultCertificate: ServerCertificate
    let dir: String

    /// Runs `body` with a harness, and stops the harness when it returns or throws (a `defer`
    /// cannot await: stopping from a task of its own could be cut short when the test process
    /// exits, leaving its temporary folder behind). `tlsBackends`: backends that serve HTTPS
    /// with a self-signed certificate.
    static func with(backends names: [String], tlsBackends: [String] = [], configuration: ProxyConfiguration = ProxyConfiguration(),
                     accessLog: AccessLog? = nil, _ body: (ProxyHarness) async throws -> Void) async throws {
        let h = try await ProxyHarness(names, tlsBackends, configuration, accessLog)
        do {
            try await body(h)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    private init(_ names: [String], _ tlsNames: [String], _ configuration: ProxyConfiguration, _ accessLog: AccessLog?) async throws {
        var backends: [String: TestBackend] = [:]
        for n in names { backends[n] = try await TestBackend.start(n, group: group) }
        if !tlsNames.isEmpty {
            let pair = try SelfSignedCertificate.make(commonName: "backend", dnsNames: ["backend.invalid"])
            let tls = try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(pair.certificatePEM.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pair.keyPEM.utf8), format: .pem))))
            for n in tlsNames { backends[n] = try await TestBackend.start(n, group: group, tls: tls) }
        }
        self.backends = backends
        let pair = try SelfSignedCertificate.make(commonName: "kplane default", dnsNames: ["ingress.kplane.invalid"])
        defaultCertificate = try ServerCertificate(source: "default certificate", certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
        var config = configuration
        config.accessLog = accessLog != nil
        server = IngressServer(state: state, configuration: config, group: group, accessLog: accessLog, logger: Logger(label: "test"))
        httpPort = try await server.bindHTTP(host: "127.0.0.1", port: 0).port!
        httpsPort = try await server.bindHTTPS(host: "127.0.0.1", port: 0, defaultCertificate: defaultCertificate).port!
        dir = NSTemporaryDirectory() + "kplane-ingress-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// Services named after backends, each with one ready endpoint: the backend itself.
    func services(_ names: [String]? = nil) -> String {
        (names ?? backends.keys.sorted()).map { n in
            Fixtures.service(n, ips: ["127.0.0.1"], port: 8080, targetPort: backends[n]!.port)
        }.joined()
    }

    func install(_ yaml: String) {
        let inputs = RouteInputs(objects: Fixtures.objects(yaml))
        let routes = RouteTable.build(inputs)
        let certs = CertificateTable.build(tlsHosts: routes.tlsHosts, secrets: inputs.secrets, defaultCertificate: defaultCertificate)
        state.swap(routes: routes, certificates: certs)
    }

    func stop() async {
        await server.closeListeners()
        await server.closeUpstreams()
        for b in backends.values { await b.stop() }
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// curl against the HTTP listener with a Host header; returns (status, body).
    func get(_ host: String, _ path: String, extra: [String] = []) async throws -> (Int, String) {
        let r = try await run(curlPath!, ["-s", "-m", "10", "-H", "Host: \(host)", "-w", "\n%{http_code}"] + extra + ["http://127.0.0.1:\(httpPort)\(path)"])
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
    }

    func write(_ name: String, _ text: String) -> String {
        let path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }
}

func tlsSecret(_ name: String, _ pair: SelfSignedCertificate.PEMPair, ns: String = "default") -> String {
    """
    apiVersion: v1
    kind: Secret
    metadata: {name: \(name), namespace: \(ns)}
    type: kubernetes.io/tls
    data:
      tls.crt: \(Data(pair.certificatePEM.utf8).base64EncodedString())
      tls.key: \(Data(pair.keyPEM.utf8).base64EncodedString())
    ---

    """
}

@Suite(.serialized, .enabled(if: curlPath != nil, "curl is not installed"))
struct ProxyEndToEndTests {
    static let hostRules = """
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: host-rules, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
    spec:
      ingressClassName: kplane
      tls: [{hosts: [foo.bar.com], secretName: conformance-tls}]
      rules:
      - host: "*.foo.com"
        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: wildcard-foo-com, port: {number: 8080}}}}]}
      - host: foo.bar.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: foo-bar-com, port: {name: http}}}}
          - {path: /exact, pathType: Exact, backend: {service: {name: exact, port: {number: 8080}}}}
    ---

    """

    @Test func hostAndPathRulesThroughCurl() async throws {
        try await ProxyHarness.with(backends: ["wildcard-foo-com", "foo-bar-com", "exact"]) { h in
            h.install(h.services() + Self.hostRules)
            let cases: [(String, String, Int, String?)] = [
                ("foo.bar.com", "/", 200, "foo-bar-com"),
                ("foo.bar.com", "/exact", 200, "exact"),
                ("foo.bar.com", "/exact/", 200, "foo-bar-com"),
                ("bar.foo.com", "/x", 200, "wildcard-foo-com"),
                ("baz.bar.foo.com", "/", 404, nil),
                ("foo.com", "/", 404, nil),
                ("subdomain.bar.com", "/", 404, nil),
            ]
            for (host, path, status, name) in cases {
                let (code, body) = try await h.get(host, path)
                #expect(code == status, "\(host)\(path)")
                if let name { #expect(body.contains("name=\(name)\n"), "\(host)\(path): \(body)") }
            }
            // Host preserved, forwarding headers set, hop-by-hop headers dropped.
            let (_, body) = try await h.get("foo.bar.com", "/hdr", extra: ["-H", "X-Forwarded-For: 6.6.6.6", "-H", "TE: trailers", "-H", "Connection: keep-alive, TE"])
            #expect(body.contains("host=foo.bar.com\n"))
            #expect(body.contains("x-forwarded-for=127.0.0.1\n"))
            #expect(body.contains("x-forwarded-proto=http\n"))
            #expect(body.contains("x-forwarded-host=foo.bar.com\n"))
            #expect(body.contains("x-forwarded-port=\(h.httpPort)\n"))
            #expect(body.contains("x-real-ip=127.0.0.1\n"))
            #expect(body.contains("te=\n"))
            #expect(body.range(of: "x-request-id=[0-9a-f]{32}\n", options: .regularExpression) != nil)
        }
    }

    @Test func hopByHopHeadersAreDroppedBothWays() async throws {
        try await ProxyHarness.with(backends: ["web"]) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("web"))
            let (code, body) = try await h.get("x", "/hdr", extra: [
                "-D", "-", "-H", "Connection: keep-alive, X-Secret", "-H", "X-Secret: s", "-H", "Keep-Alive: timeout=9",
                "-H", "Proxy-Connection: x", "-H", "Cookie: a=b", "-H", "X-Real-IP: 6.6.6.6",
            ])
            #expect(code == 200)
            #expect(body.contains("x-secret=\n") && body.contains("keep-alive=\n") && body.contains("connection=\n"), "\(body)")
            #expect(body.contains("cookie=a=b\n") && body.contains("x-real-ip=127.0.0.1\n"), "\(body)")
            // The backend's `Keep-Alive` response header stays between the proxy and the backend.
            let head = body.lowercased().components(separatedBy: "\r\n\r\n").first ?? ""
            #expect(!head.contains("keep-alive:") && head.contains("x-backend: web"), "\(head)")
        }
    }

    @Test func idleAndHeaderReadTimeoutsCloseConnections() async throws {
        var config = ProxyConfiguration()
        config.headerReadTimeout = .milliseconds(300)
        config.idleTimeout = .milliseconds(300)
        try await ProxyHarness.with(backends: ["web"], configuration: config) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("web"))
            let port = h.httpPort
            // Silent client: closed after the header read timeout. Then a client that sends one
            // request and stays: answered, then closed after the idle timeout.
            for request in ["", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"] {
                let (received, seconds) = await rawExchange(port: port, send: request)
                #expect(seconds > 0.2 && seconds < 3, "closed after \(seconds) s")
                #expect(request.isEmpty ? received.isEmpty : received.hasPrefix("HTTP/1.1 200"), "\(received)")
            }
            // Pipelined requests (the second with a body, the third answered by the proxy itself)
            // are answered in order on the one connection.
            let pipelined = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nPUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                + "GET /c HTTP/1.1\r\nHost: x\r\nExpect: nothing\r\nContent-Length: 0\r\n\r\nGET /%zz HTTP/1.1\r\nHost: x\r\n\r\nGET /e HTTP/1.1\r\nHost: x\r\n\r\n"
            let (received, _) = await rawExchange(port: port, send: pipelined)
            let statuses = received.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("HTTP/1.1 ") }.map(String.init)
            #expect(statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request"], "\(received)")
            let paths = received.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("path=") }.map(String.init)
            #expect(paths == ["path=/slow", "path=/b", "path=/c"], "\(received)")
            #expect(received.contains("method=PUT\npath=/b\nreceived=3\n"), "\(received)")
        }
    }

    @Test func backendReadTimeoutGives504AndConnectionsStayUsable() async throws {
        try await ProxyHarness.with(backends: ["web"]) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("web", annotations: #"{kplane.dev/proxy-read-timeout: "1"}"#))
            let clock = ContinuousClock()
            let start = clock.now
            let r = try await run(curlPath!, ["-s", "-m", "10", "-H", "Host: x", "-w", "\n%{http_code}\n",
                                              "http://127.0.0.1:\(h.httpPort)/slow", "http://127.0.0.1:\(h.httpPort)/hang", "http://127.0.0.1:\(h.httpPort)/after"])
            let elapsed = clock.now - start
            let codes = r.out.split(separator: "\n").filter { Int($0) != nil }
            #expect(codes == ["200", "504", "200"], "\(r.out)")
            #expect(elapsed > .milliseconds(900) && elapsed < .seconds(5), "\(elapsed)")
        }
    }

    @Test func droppedPooledConnectionIsRetriedWithTheBody() async throws {
        try await ProxyHarness.with(backends: ["web"]) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("web"))
            // One client connection (so one event loop and its pool): the first answer marks the
            // pooled upstream connection to drop the next request; the PUT must be sent again.
            let url = "http://127.0.0.1:\(h.httpPort)"
            let r = try await run(curlPath!, ["-s", "-m", "10", "-H", "Host: x", "-w", "\n%{http_code}\n", url + "/close-next",
                                              "--next", "-s", "-m", "10", "-H", "Host: x", "-X", "PUT", "--data-binary", "12345", "-w", "\n%{http_code}\n", url + "/upload",
                                              "--next", "-s", "-m", "10", "-H", "Host: x", "-w", "\n%{http_code}\n", url + "/close-next",
                                              "--next", "-s", "-m", "10", "-H", "Host: x", "-w", "\n%{http_code}\n", url + "/get"])
            #expect(r.out.contains("method=PUT\npath=/upload\nreceived=5\n"), "\(r.out)")
            #expect(r.out.contains("method=GET\npath=/get\n"), "\(r.out)")
            #expect(r.out.split(separator: "\n").filter { Int($0) != nil } == ["200", "200", "200", "200"], "\(r.out)")
        }
    }

    @Test func trustedProxyForwardedHeadersAreKept() async throws {
        var config = ProxyConfiguration()
        config.trustedProxies = [CIDR("127.0.0.0/8")!]
        try await ProxyHarness.with(backends: ["foo-bar-com"], configuration: config) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("foo-bar-com"))
            let (_, body) = try await h.get("x", "/", extra: ["-H", "X-Forwarded-For: 6.6.6.6", "-H", "X-Forwarded-Proto: https", "-H", "X-Request-ID: abc"])
            #expect(body.contains("x-forwarded-for=6.6.6.6, 127.0.0.1\n"))
            #expect(body.contains("x-forwarded-proto=https\n"))
            #expect(body.contains("x-real-ip=6.6.6.6\n"))
            #expect(body.contains("x-request-id=abc\n"))
        }
    }

    @Test func tlsBySNIWithHTTP2AndRotation() async throws {
        try await ProxyHarness.with(backends: ["wildcard-foo-com", "foo-bar-com", "exact"]) { h in
            let first = try SelfSignedCertificate.make(commonName: "first", dnsNames: ["foo.bar.com"])
            h.install(h.services() + tlsSecret("conformance-tls", first) + Self.hostRules)
            let ca1 = h.write("first.pem", first.certificatePEM)
            let url = "https://foo.bar.com:\(h.httpsPort)/"
            let resolve = ["--resolve", "foo.bar.com:\(h.httpsPort):127.0.0.1"]

            // Verified against the Secret's certificate, HTTP/2 by ALPN.
            var r = try await run(curlPath!, ["-s", "-m", "10", "--http2", "--cacert", ca1, "-w", "\n%{http_version} %{http_code}"] + resolve + [url])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.contains("name=foo-bar-com"))
            #expect(r.out.hasSuffix("2 200"), "\(r.out)")
            // HTTP/1.1 over TLS too, and TLS 1.1 is refused.
            r = try await run(curlPath!, ["-s", "-m", "10", "--http1.1", "--cacert", ca1, "-w", "\n%{http_version}"] + resolve + [url])
            #expect(r.out.hasSuffix("1.1"))
            r = try await run(curlPath!, ["-s", "-m", "10", "-k", "--tlsv1.1", "--tls-max", "1.1"] + resolve + [url])
            #expect(r.status != 0)

            // A host not covered by any Secret gets the default certificate (and still routes).
            r = try await run(curlPath!, ["-s", "-v", "-k", "-m", "10", "--resolve", "bar.foo.com:\(h.httpsPort):127.0.0.1", "https://bar.foo.com:\(h.httpsPort)/"])
            #expect(r.err.contains("kplane default"), "\(r.err)")
            #expect(r.out.contains("name=wildcard-foo-com"))

            // Rotation: the next handshake uses the new Secret, without restart.
            let second = try SelfSignedCertificate.make(commonName: "second", dnsNames: ["foo.bar.com"])
            h.install(h.services() + tlsSecret("conformance-tls", second) + Self.hostRules)
            let ca2 = h.write("second.pem", second.certificatePEM)
            r = try await run(curlPath!, ["-s", "-m", "10", "--cacert", ca2] + resolve + [url])
            #expect(r.status == 0 && r.out.contains("name=foo-bar-com"), "\(r.err)")
            r = try await run(curlPath!, ["-s", "-m", "10", "--cacert", ca1] + resolve + [url])
            #expect(r.status != 0)

            // A Secret that does not cover the host is reported, and the default certificate is served.
            let wrong = try SelfSignedCertificate.make(commonName: "wrong", dnsNames: ["other.example"])
            let inputs = RouteInputs(objects: Fixtures.objects(h.services() + tlsSecret("conformance-tls", wrong) + Self.hostRules))
            let routes = RouteTable.build(inputs)
            let certs = CertificateTable.build(tlsHosts: routes.tlsHosts, secrets: inputs.secrets, defaultCertificate: h.defaultCertificate)
            #expect(certs.problems.contains { $0.message.contains("does not cover host foo.bar.com") })
            #expect(certs.certificate(forServerName: "foo.bar.com").source == "default certificate")
            let missing = CertificateTable.build(tlsHosts: routes.tlsHosts, secrets: [:], defaultCertificate: h.defaultCertificate)
            #expect(missing.problems.contains { $0.message.contains("not found") })
        }
    }

    @Test func localAnswersAndRedirects() async throws {
        try await ProxyHarness.with(backends: ["web"]) { h in
            h.install(h.services() + Fixtures.kplaneClass + """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: a, namespace: default, annotations: {nginx.ingress.kubernetes.io/force-ssl-redirect: "true"}}
            spec:
              rules:
              - host: secure.example
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: b, namespace: default, annotations: {kplane.dev/proxy-body-size: "1k"}}
            spec:
              rules:
              - host: plain.example
                http:
                  paths:
                  - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
                  - {path: /none, pathType: Prefix, backend: {service: {name: ghost, port: {number: 80}}}}
                  - {path: /res, pathType: Prefix, backend: {resource: {kind: Bucket, name: b}}}
            """)
            var (code, body) = try await h.get("secure.example", "/a?b=1", extra: ["-D", "-"])
            #expect(code == 308)
            #expect(body.lowercased().contains("location: https://secure.example:\(h.httpsPort)/a?b=1"), "\(body)")
            (code, body) = try await h.get("plain.example", "/none")
            #expect(code == 503 && body.contains("not found"))
            (code, body) = try await h.get("plain.example", "/res")
            #expect(code == 503 && body.contains("not supported"))
            (code, _) = try await h.get("nowhere.example", "/")
            #expect(code == 404)
            (code, _) = try await h.get("plain.example", "/upload", extra: ["--data-binary", String(repeating: "x", count: 2000)])
            #expect(code == 413)
            (code, body) = try await h.get("plain.example", "/upload", extra: ["--data-binary", String(repeating: "x", count: 1000)])
            #expect(code == 200 && body.contains("received=1000"))
        }
    }

    @Test func deadEndpointIsRetriedAndAllDeadGives502() async throws {
        try await ProxyHarness.with(backends: ["web"]) { h in
            // A port that refuses connections: bind and close.
            let dead = try await ServerBootstrap(group: h.group).bind(host: "127.0.0.1", port: 0).get()
            let deadPort = dead.localAddress!.port!
            try await dead.close()
            let yaml = Fixtures.kplaneClass + Fixtures.handWrittenEndpoints("mixed", ports: [deadPort, h.backends["web"]!.port]) + """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: a, namespace: default}
            spec: {defaultBackend: {service: {name: mixed, port: {number: 80}}}}
            """
            h.install(yaml)
            for _ in 0..<6 {
                let (code, body) = try await h.get("x", "/")
                #expect(code == 200 && body.contains("name=web"))
            }
            // POST is not retried: half of them meet the dead endpoint.
            var codes: [Int] = []
            for _ in 0..<4 { codes.append(try await h.get("x", "/", extra: ["-X", "POST"]).0) }
            #expect(codes.contains(502) && codes.contains(200))
        }
    }

    @Test func upgradeIsPassedThrough() async throws {
        try await ProxyHarness.with(backends: ["ws"]) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("ws"))
            let port = h.httpPort
            let reply: String = try await withCheckedThrowingContinuation { cont in
                DispatchQueue.global().async {
                    guard let fd = connectToLoopback(port: port) else { return cont.resume(returning: "connect failed") }
                    defer { close(fd) }
                    let request = "GET /chat HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"
                    _ = request.withCString { send(fd, $0, strlen($0), 0) }
                    var received = [UInt8]()
                    var buf = [UInt8](repeating: 0, count: 4096)
                    func readUntil(_ marker: String) {
                        while !String(decoding: received, as: UTF8.self).contains(marker) {
                            let n = recv(fd, &buf, buf.count, 0)
                            if n <= 0 { return }
                            received += buf[0..<n]
                        }
                    }
                    readUntil("\r\n\r\n")
                    for msg in ["hello through the tunnel", "second frame"] {
                        _ = msg.withCString { send(fd, $0, strlen($0), 0) }
                        readUntil(msg)
                    }
                    cont.resume(returning: String(decoding: received, as: UTF8.self))
                }
            }
            #expect(reply.hasPrefix("HTTP/1.1 101"), "\(reply)")
            #expect(reply.hasSuffix("hello through the tunnelsecond frame"), "\(reply)")
        }
    }

    @Test func largeBodiesStreamBothWays() async throws {
        let size = 100 * 1024 * 1024
        try await ProxyHarness.with(backends: ["big"]) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("big"))
            let file = h.dir + "/upload.bin"
            #expect(FileManager.default.createFile(atPath: file, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            try handle.truncate(atOffset: UInt64(size))
            try handle.close()
            let clock = ContinuousClock()
            var start = clock.now
            var r = try await run(curlPath!, ["-s", "-m", "60", "-H", "Host: big", "--data-binary", "@" + file, "http://127.0.0.1:\(h.httpPort)/upload"])
            #expect(r.out.contains("received=\(size)\n"), "\(r.out) \(r.err)")
            let up = clock.now - start
            // Chunked upload (no Content-Length).
            r = try await run(curlPath!, ["-s", "-m", "60", "-H", "Host: big", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file, "http://127.0.0.1:\(h.httpPort)/upload"])
            #expect(r.out.contains("received=\(size)\n"), "\(r.out) \(r.err)")
            start = clock.now
            for path in ["/download?bytes=\(size)", "/download?chunked&bytes=\(size)"] {
                r = try await run(curlPath!, ["-s", "-m", "60", "-H", "Host: big", "-o", "/dev/null", "-w", "%{size_download} %{http_code}", "http://127.0.0.1:\(h.httpPort)\(path)"])
                #expect(r.out == "\(size) 200", "\(r.out) \(r.err)")
            }
            print("100 MB upload \(up), two downloads \(clock.now - start)")
        }
    }

    @Test func noRequestFailsWhileRoutesChangeUnderLoad() async throws {
        try await ProxyHarness.with(backends: ["blue", "green"]) { h in
            func routes(_ target: String) -> String {
                h.services() + Fixtures.kplaneClass + """
                apiVersion: networking.k8s.io/v1
                kind: Ingress
                metadata: {name: a, namespace: default}
                spec:
                  rules:
                  - host: app.example
                    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: \(target), port: {number: 8080}}}}]}
                """
            }
            h.install(routes("blue"))
            let blue = routes("blue"), green = routes("green")
            let swapper = Task {
                var n = 0
                while !Task.isCancelled && n < 100 {
                    h.install(n % 2 == 0 ? green : blue)
                    n += 1
                    try? await Task.sleep(for: .milliseconds(10))
                }
                return n
            }
            let urls = Array(repeating: ["-o", "/dev/null", "http://127.0.0.1:\(h.httpPort)/x"], count: 150).flatMap { $0 }
            async let a = run(curlPath!, ["-s", "-m", "30", "-H", "Host: app.example", "-w", "%{http_code}\n"] + urls)
            async let b = run(curlPath!, ["-s", "-m", "30", "-H", "Host: app.example", "-w", "%{http_code}\n"] + urls)
            let results = try await [a, b]
            let swaps = await swapper.value
            let codes = results.flatMap { $0.out.split(separator: "\n") }
            #expect(codes.count == 300)
            #expect(codes.allSatisfy { $0 == "200" }, "\(codes.filter { $0 != "200" })")
            #expect(swaps > 10)
        }
    }
}

/// Connects to 127.0.0.1:`port`, sends `send` and reads until the proxy closes the connection
/// (at most 5 s); returns what was received and how long the connection stayed open.
func rawExchange(port: Int, send request: String) async -> (String, Double) {
    await withCheckedContinuation { cont in
        DispatchQueue.global().async {
            guard let fd = connectToLoopback(port: port) else { return cont.resume(returning: ("connect failed", 0)) }
            defer { close(fd) }
            let start = Date()
            if !request.isEmpty { _ = request.withCString { send(fd, $0, strlen($0), 0) } }
            var received = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buf, buf.count, 0)
                if n <= 0 { break }
                received += buf[0..<n]
            }
            cont.resume(returning: (String(decoding: received, as: UTF8.self), Date().timeIntervalSince(start)))
        }
    }
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, whose reads give up after 5 s; nil when
/// the connection is refused.
func connectToLoopback(port: Int) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard ok == 0 else {
        close(fd)
        return nil
    }
    return fd
}
