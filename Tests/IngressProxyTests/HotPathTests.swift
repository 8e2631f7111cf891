import HostSystem
import NIOCore
import Testing
@testable import IngressProxy

/// The allocation-free helpers of the proxy's request path.
@Suite struct HotPathTests {
    @Test(arguments: [
        ("Connection", HeaderName.connection), ("KEEP-ALIVE", .hopByHop), ("Proxy-Connection", .hopByHop), ("te", .hopByHop),
        ("Trailer", .hopByHop), ("Proxy-Authorization", .hopByHop), ("proxy-authenticate", .hopByHop), ("HTTP2-Settings", .hopByHop),
        ("Transfer-Encoding", .transferEncoding), ("Upgrade", .upgrade), ("Content-Length", .contentLength), ("Cookie", .cookie),
        ("HOST", .host), ("X-Forwarded-For", .xForwardedFor), ("x-forwarded-proto", .xForwardedProto), ("X-Forwarded-Host", .xForwardedHost),
        ("X-Forwarded-Port", .xForwardedPort), ("X-Real-IP", .xRealIP), ("X-Request-Id", .xRequestID),
        ("Content-Type", .other), ("tf", .other), ("Hostx", .other), ("x-forwarded-fox", .other), ("Set-Cookie", .other), ("", .other),
        ("Connectiom", .other), ("proxy-connectioN", .hopByHop), ("x-forwarded-hosp", .other),
    ])
    func classifiesHeaderNames(_ c: (String, HeaderName)) {
        #expect(HeaderName(c.0) == c.1, "\(c.0)")
    }

    @Test func connectionTokens() {
        var t = ConnectionTokens()
        t.add("keep-alive")
        #expect(!t.upgrade && t.named.isEmpty)
        t.add(" Upgrade ,X-Secret,, close\t, te")
        #expect(t.upgrade)
        #expect(t.lists("x-secret") && t.lists("TE") && !t.lists("close") && !t.lists("keep-alive") && !t.lists("x-secre"))
        #expect(HeaderName.equal("Keep-Alive", "keep-alive") && !HeaderName.equal("keep_alive", "keep-alive") && !HeaderName.equal("a", "ab"))
    }

    @Test func requestIDsAreHexAndDistinct() {
        var a = RequestIDGenerator(), b = RequestIDGenerator()
        var seen = Set<String>()
        for _ in 0..<1000 {
            for id in [a.next(), b.next()] {
                #expect(id.utf8.count == 32 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }, "\(id)")
                seen.insert(id)
            }
        }
        #expect(seen.count == 2000)
    }

    @Test(arguments: [("Cpus_allowed_list:\t1\n", 1), ("Name: x\nCpus_allowed_list:\t0-1\nMems_allowed_list:\t0\n", 2),
                      ("Cpus_allowed_list:\t0,2-3\n", 3), ("Cpus_allowed_list:\tbogus\n", -1), ("", -1)])
    func usableCPUsFollowTheAffinityMask(_ c: (String, Int)) {
        let cores = max(1, System.coreCount)
        #expect(HostCPUs.usable(status: c.0) == (c.1 < 0 ? cores : min(c.1, cores)))
    }

    @Test func stateIsReadWithoutLockUntilASwap() {
        let state = IngressState()
        let first = state.refresh(nil)
        #expect(state.refresh(first) === first)
        state.swap(routes: .empty, certificates: nil)
        let second = state.refresh(first)
        #expect(second !== first && second.tables.generation == 1)
        #expect(state.refresh(second) === second)
    }
}
