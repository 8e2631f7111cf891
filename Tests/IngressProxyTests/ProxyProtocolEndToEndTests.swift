import Foundation
import Synchronization
import Testing
@testable import IngressProxy

/// End-to-end tests of the opt-in protocols and annotations through a real proxy and real
/// sockets: h2c with prior knowledge, HTTPS to the backend, cookie affinity, and one access log
/// line per request whatever the client protocol.
@Suite(.serialized, .enabled(if: curlPath != nil, "curl is not installed"))
struct ProxyProtocolEndToEndTests {
    /// Lines handed to an access log sink, split and decoded.
    final class CollectedLog: Sendable {
        private final class Bytes: Sendable { let value = Mutex<[UInt8]>([]) }
        private let bytes = Bytes()
        let log: AccessLog

        init() {
            let bytes = self.bytes
            log = AccessLog(threshold: 1) { chunk in bytes.value.withLock { $0 += chunk } }
        }

        var entries: [[String: Any]] {
            let text = String(decoding: bytes.value.withLock { $0 }, as: UTF8.self)
            return text.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
        }
    }

    @Test func h2cWithPriorKnowledgeWhenEnabled() async throws {
        var config = ProxyConfiguration()
        config.h2c = true
        try await ProxyHarness.with(backends: ["web"], configuration: config) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("web"))
            let url = "http://127.0.0.1:\(h.httpPort)/h2c?x=1"
            // HTTP/2 with prior knowledge, a GET and a POST with a body. (One request per curl run:
            // curl 7.88 fails its second request on a reused h2c connection, against nginx too.)
            var r = try await run(curlPath!, ["-s", "-m", "10", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", url])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.hasSuffix("\n2 200") && r.out.contains("name=web\n") && r.out.contains("path=/h2c?x=1\n"), "\(r.out)")
            r = try await run(curlPath!, ["-s", "-m", "10", "--http2-prior-knowledge", "--data-binary", "hello", "-w", "\n%{http_version} %{http_code}", url])
            #expect(r.out.hasSuffix("\n2 200") && r.out.contains("method=POST\npath=/h2c?x=1\nreceived=5\n"), "\(r.out)")
            // The same listener still speaks HTTP/1.1 (the sniffer hands the bytes it read on).
            r = try await run(curlPath!, ["-s", "-m", "10", "--http1.1", "-w", "\n%{http_version} %{http_code}", url, url])
            #expect(r.out.hasSuffix("1.1 200") && r.out.components(separatedBy: "name=web").count == 3, "\(r.out) \(r.err)")
            // A raw HTTP/1.1 request with Connection: close.
            let (received, _) = await rawExchange(port: h.httpPort, send: "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(received.hasPrefix("HTTP/1.1 200") && received.contains("path=/raw"), "\(received)")
        }
    }

    @Test func h2cIsRefusedWhenNotEnabled() async throws {
        try await ProxyHarness.with(backends: ["web"]) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("web"))
            let url = "http://127.0.0.1:\(h.httpPort)/"
            var r = try await run(curlPath!, ["-s", "-m", "10", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", url])
            #expect(r.status != 0 || !r.out.hasSuffix("2 200"), "\(r.out)")
            #expect(!r.out.contains("name=web"), "\(r.out)")
            // The preface is answered as a malformed HTTP/1 request and the connection closes.
            let (received, seconds) = await rawExchange(port: h.httpPort, send: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            #expect(received.isEmpty || received.hasPrefix("HTTP/1.1 400"), "\(received)")
            #expect(seconds < 3)
            // Plain HTTP/1.1 works, and an `Upgrade: h2c` request is answered over HTTP/1.1.
            r = try await run(curlPath!, ["-s", "-m", "10", "--http2", "-w", "\n%{http_version} %{http_code}", url])
            #expect(r.out.hasSuffix("1.1 200") && r.out.contains("name=web"), "\(r.out)")
        }
    }

    @Test func backendProtocolHTTPSToASelfSignedBackend() async throws {
        try await ProxyHarness.with(backends: ["plain"], tlsBackends: ["secure"]) { h in
            h.install(h.services() + Fixtures.kplaneClass + """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: tls-backend, namespace: default, annotations: {nginx.ingress.kubernetes.io/backend-protocol: HTTPS}}
            spec:
              rules:
              - host: secure.example
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: secure, port: {number: 8080}}}}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: plain-to-tls, namespace: default}
            spec:
              rules:
              - host: wrong.example
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: secure, port: {number: 8080}}}}]}
              - host: plain.example
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: plain, port: {number: 8080}}}}]}
            """)
            // Three requests on one client connection: the second and third reuse the pooled TLS
            // connection; a POST body goes through TLS too.
            let url = "http://127.0.0.1:\(h.httpPort)"
            let r = try await run(curlPath!, ["-s", "-m", "10", "-H", "Host: secure.example", "-w", "\n%{http_code}\n", url + "/a",
                                              "--next", "-s", "-m", "10", "-H", "Host: secure.example", "--data-binary", "0123456789", "-w", "\n%{http_code}\n", url + "/b",
                                              "--next", "-s", "-m", "10", "-H", "Host: secure.example", "-w", "\n%{http_code}\n", url + "/download?bytes=300000"])
            #expect(r.out.contains("name=secure\ntls=true\nmethod=GET\npath=/a\n"), "\(r.out)")
            #expect(r.out.contains("name=secure\ntls=true\nmethod=POST\npath=/b\nreceived=10\n"), "\(r.out)")
            #expect(r.out.split(separator: "\n").filter { $0.count == 3 && Int($0) != nil } == ["200", "200", "200"], "\(r.out.suffix(200))")
            #expect(r.out.utf8.count > 300_000)
            // Over HTTPS and HTTP/2 on the client side as well.
            let s = try await run(curlPath!, ["-s", "-k", "-m", "10", "--http2", "--resolve", "secure.example:\(h.httpsPort):127.0.0.1",
                                              "-w", "\n%{http_version} %{http_code}", "https://secure.example:\(h.httpsPort)/c"])
            #expect(s.out.contains("name=secure\ntls=true\n") && s.out.hasSuffix("2 200"), "\(s.out) \(s.err)")
            // Without the annotation, plain HTTP to a TLS backend fails cleanly (502); a plain backend is fine.
            let (code, _) = try await h.get("wrong.example", "/")
            #expect(code == 502)
            let (plainCode, body) = try await h.get("plain.example", "/")
            #expect(plainCode == 200 && body.contains("name=plain\ntls=false\n"), "\(body)")
        }
    }

    @Test func cookieAffinityKeepsAClientOnOneEndpoint() async throws {
        try await ProxyHarness.with(backends: ["one", "two"]) { h in
            let ports = ["one", "two"].map { h.backends[$0]!.port }
            h.install(Fixtures.kplaneClass + Fixtures.handWrittenEndpoints("pair", ports: ports) + """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata:
              name: sticky
              namespace: default
              annotations: {kplane.dev/affinity: cookie, kplane.dev/session-cookie-name: route, nginx.ingress.kubernetes.io/session-cookie-max-age: "600"}
            spec:
              rules:
              - host: sticky.example
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: pair, port: {number: 80}}}}]}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: spread, namespace: default}
            spec:
              rules:
              - host: spread.example
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: pair, port: {number: 80}}}}]}
            """)
            func names(_ text: String) -> [String] {
                text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("name=") }.map { String($0.dropFirst(5)) }
            }
            // Each curl run is a new client with its own cookie jar, making 6 requests on new
            // connections (`--next` keeps the jar). Every client stays on the endpoint of its
            // first answer, which set the cookie; over several clients both endpoints are used.
            var seen = Set<String>()
            for client in 0..<4 {
                let jar = h.dir + "/jar-\(client)"
                var args: [String] = []
                for i in 0..<6 {
                    if i > 0 { args.append("--next") }
                    args += ["-s", "-m", "10", "-b", jar, "-c", jar, "-H", "Host: sticky.example", "-D", "-", "http://127.0.0.1:\(h.httpPort)/\(i)"]
                }
                let r = try await run(curlPath!, args)
                let got = names(r.out)
                #expect(got.count == 6 && Set(got).count == 1, "client \(client): \(got) \(r.out) \(r.err)")
                seen.formUnion(got)
                // The cookie is set once (on the first answer), with its attributes, and sent back.
                let setCookies = r.out.lowercased().split(separator: "\r\n").filter { $0.hasPrefix("set-cookie:") }
                #expect(setCookies.count == 1, "\(setCookies)")
                #expect(setCookies.first?.contains("route=") == true && setCookies.first?.contains("path=/; httponly; max-age=600") == true, "\(setCookies)")
                #expect(r.out.contains("cookie=route="), "\(r.out)")
                let jarText = (try? String(contentsOfFile: jar, encoding: .utf8)) ?? ""
                #expect(jarText.contains("\troute\t"), "\(jarText)")
            }
            #expect(seen == ["one", "two"], "\(seen)")
            // A cookie naming an endpoint that no longer exists is replaced with a new one.
            let (_, stale) = try await h.get("sticky.example", "/", extra: ["-D", "-", "-b", "route=0000000000000000"])
            #expect(stale.lowercased().contains("set-cookie: route="), "\(stale)")
            // Without affinity requests alternate.
            var spread: [String] = []
            for _ in 0..<4 { spread += names(try await h.get("spread.example", "/").1) }
            #expect(Set(spread) == ["one", "two"], "\(spread)")
        }
    }

    @Test func accessLogHasOneLinePerRequestForEveryProtocol() async throws {
        var config = ProxyConfiguration()
        config.h2c = true
        let collected = CollectedLog()
        try await ProxyHarness.with(backends: ["web"], configuration: config, accessLog: collected.log) { h in
            h.install(h.services() + Fixtures.defaultBackendIngress("web"))
            let http = "http://127.0.0.1:\(h.httpPort)"
            let https = "https://127.0.0.1:\(h.httpsPort)"
            let runs: [(String, [String])] = [
                ("HTTP/1.1", ["--http1.1", http + "/h1-a", http + "/h1-b"]),
                ("HTTP/2", ["--http2", "-k", https + "/tls-a", https + "/tls-b", https + "/tls-c"]),
                ("HTTP/2", ["--http2-prior-knowledge", http + "/h2c-a"]),
                ("HTTP/2", ["--http2", "-k", "--data-binary", "body", https + "/tls-post"]),
            ]
            var expected: [String: String] = [:]
            for (proto, args) in runs {
                let r = try await run(curlPath!, ["-s", "-m", "10", "-o", "/dev/null", "-H", "Host: web.example"] + args)
                #expect(r.status == 0, "\(args): \(r.err)")
                for a in args where a.hasPrefix("http") { expected[String(a.split(separator: "/", maxSplits: 3).last.map { "/" + $0 } ?? "")] = proto }
            }
            try await Task.sleep(for: .milliseconds(200))
            h.server.flushAccessLog()
            let entries = collected.entries
            let paths = entries.compactMap { $0["path"] as? String }
            #expect(paths.sorted() == expected.keys.sorted(), "\(paths)")
            for entry in entries {
                let path = entry["path"] as? String ?? ""
                #expect(entry["protocol"] as? String == expected[path], "\(entry)")
                #expect(entry["status"] as? Int == 200, "\(entry)")
                #expect(entry["upstream"] as? String == "127.0.0.1:\(h.backends["web"]!.port)", "\(entry)")
                #expect(entry["ingress"] as? String == "default/a", "\(entry)")
            }
            #expect(Set(entries.compactMap { $0["request_id"] as? String }).count == entries.count)
        }
    }
}
