import Testing
@testable import IngressProxy

@Suite struct RequestTargetTests {
    @Test(arguments: [
        ("/", "/"), ("/a/b", "/a/b"), ("/a/b/", "/a/b/"), ("//a///b", "/a/b"), ("/a/./b", "/a/b"), ("/a/../b", "/b"),
        ("/../..", "/"), ("/a/..", "/"), ("/a/b/..", "/a/"), ("/a/.", "/a/"), ("/%7Euser", "/~user"), ("/%2e%2e/x", "/x"),
        ("/a%2fb", "/a%2Fb"), ("/%41%42", "/AB"), ("/a%20b", "/a%20b"), ("/...", "/..."), ("/a/.hidden", "/a/.hidden"),
    ])
    func normalizesPaths(_ c: (String, String)) {
        #expect(RequestTarget.normalizePath(c.0) == c.1)
    }

    @Test(arguments: ["relative", "/bad%zz", "/trunc%4", ""])
    func rejectsMalformedPaths(_ p: String) {
        #expect(RequestTarget.normalizePath(p) == nil)
    }

    @Test func splitsTargets() {
        #expect(RequestTarget.parse("/a/../b?x=1&y=/..#frag") == .init(authority: nil, path: "/b", query: "x=1&y=/.."))
        #expect(RequestTarget.parse("http://Example.com:8080/p?q") == .init(authority: "Example.com:8080", path: "/p", query: "q"))
        #expect(RequestTarget.parse("https://h") == .init(authority: "h", path: "/", query: nil))
        // The fast path: an origin-form target that is already normal is forwarded as received.
        #expect(RequestTarget.parse("/a/b?x=1&y=/..") == .init(authority: nil, path: "/a/b", query: "x=1&y=/..", isOriginalURI: true))
        #expect(RequestTarget.parse("/a/b/") == .init(authority: nil, path: "/a/b/", query: nil, isOriginalURI: true))
        #expect(RequestTarget.parse("/a?") == .init(authority: nil, path: "/a", query: "", isOriginalURI: true))
        #expect(RequestTarget.parse("/a/b#f") == .init(authority: nil, path: "/a/b", query: nil))
        #expect(RequestTarget.parse("/a?q#f") == .init(authority: nil, path: "/a", query: "q"))
        #expect(RequestTarget.parse("*") == nil)
        #expect(RequestTarget.parse("ftp://x/") == nil)
    }

    @Test(arguments: [("Example.COM", "example.com"), ("example.com:80", "example.com"), ("example.com.", "example.com"),
                      ("[::1]:8443", "[::1]"), ("127.0.0.1:80", "127.0.0.1"), ("", ""), (" host ", "host")])
    func normalizesHosts(_ c: (String, String)) {
        #expect(RequestTarget.normalizeHost(c.0) == c.1)
    }
}

@Suite struct AnnotationTests {
    @Test func parsesTypedValuesUnderBothPrefixes() {
        let (a, problems) = IngressAnnotations.parse([
            "kplane.dev/rewrite-target": "/",
            "nginx.ingress.kubernetes.io/ssl-redirect": "true",
            "nginx.ingress.kubernetes.io/proxy-body-size": "8m",
            "kplane.dev/proxy-connect-timeout": "3",
            "nginx.ingress.kubernetes.io/proxy-read-timeout": "120s",
            "kplane.dev/backend-protocol": "https",
            "nginx.ingress.kubernetes.io/affinity": "cookie",
            "nginx.ingress.kubernetes.io/session-cookie-name": "route",
            "kplane.dev/load-balance": "least-request",
        ])
        #expect(problems.isEmpty)
        #expect(a.rewriteTarget == "/")
        #expect(a.sslRedirect)
        #expect(!a.forceSSLRedirect)
        #expect(a.maxBodyBytes == 8 << 20)
        #expect(a.connectTimeoutSeconds == 3)
        #expect(a.readTimeoutSeconds == 120)
        #expect(a.sendTimeoutSeconds == 60)
        #expect(a.backendProtocol == .https)
        #expect(a.affinity?.name == "route")
        #expect(a.loadBalancing == .leastRequest)
    }

    @Test func kplanePrefixWinsAndBadValuesAreReported() {
        let (a, problems) = IngressAnnotations.parse([
            "kplane.dev/proxy-body-size": "1k",
            "nginx.ingress.kubernetes.io/proxy-body-size": "1g",
            "kplane.dev/ssl-redirect": "yes",
            "kplane.dev/proxy-read-timeout": "-1",
            "kplane.dev/backend-protocol": "GRPC",
            "kplane.dev/rewrite-target": "/$2",
        ])
        #expect(a.maxBodyBytes == 1024)
        #expect(!a.sslRedirect)
        #expect(a.readTimeoutSeconds == 60)
        #expect(a.backendProtocol == .http)
        #expect(a.rewriteTarget == nil)
        #expect(problems.count == 4)
    }

    @Test(arguments: [("0", Int64(0)), ("100", 100), ("2k", 2048), ("3M", 3 << 20), ("1g", 1 << 30)])
    func sizes(_ c: (String, Int64)) {
        #expect(IngressAnnotations.parseSize(c.0) == c.1)
    }

    @Test func rewriteTargetReplacesTheMatchedPrefix() throws {
        let yaml = Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress(
            "rw", annotations: ["nginx.ingress.kubernetes.io/rewrite-target": "/"], path: "/app")
        let route = try #require(Fixtures.table(yaml).match(host: "app.example", path: "/app/x/y"))
        #expect(route.upstreamPath(for: "/app/x/y") == "/x/y")
        #expect(route.upstreamPath(for: "/app") == "/")
        let yaml2 = Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress(
            "rw", annotations: ["kplane.dev/rewrite-target": "/v2"], path: "/api")
        let route2 = try #require(Fixtures.table(yaml2).match(host: "app.example", path: "/api/users"))
        #expect(route2.upstreamPath(for: "/api/users") == "/v2/users")
    }

    @Test func sslRedirectOnlyForTLSHostsUnlessForced() {
        let tls = "  tls: [{hosts: [app.example], secretName: app-tls}]\n"
        let redirect = ["kplane.dev/ssl-redirect": "true"]
        let withTLS = Fixtures.table(Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress("a", annotations: redirect, extraSpec: tls))
        #expect(withTLS.match(host: "app.example", path: "/")?.redirectToHTTPS == true)
        let withoutTLS = Fixtures.table(Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress("a", annotations: redirect))
        #expect(withoutTLS.match(host: "app.example", path: "/")?.redirectToHTTPS == false)
        let forced = Fixtures.table(Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress("a", annotations: ["kplane.dev/force-ssl-redirect": "true"]))
        #expect(forced.match(host: "app.example", path: "/")?.redirectToHTTPS == true)
        let plain = Fixtures.table(Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress("a", extraSpec: tls))
        #expect(plain.match(host: "app.example", path: "/")?.redirectToHTTPS == false)
    }
}
