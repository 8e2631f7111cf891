import Testing
import KubeModel
@testable import ClusterDNS

/// One question and the answer CoreDNS gives (records in dig's one-line form, any order).
struct ZoneCase: Sendable, CustomStringConvertible {
    var qname: String
    var qtype: RRType
    var rcode: RCode = .noError
    var answer: [String] = []
    var ns: [String] = []
    var extra: [String] = []
    var chase: String? = nil

    var description: String { "\(qname) \(qtype)" }
}

let soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1499347823 7200 1800 86400 5"

func normalized(_ records: [ResourceRecord]) -> [String] {
    records.map { normalized("\($0)") }.sorted()
}

func normalized(_ line: String) -> String {
    line.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
}

func check(_ zone: ClusterZone, _ c: ZoneCase, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let q = DNSQuestion(name: try #require(DNSName(c.qname)), type: c.qtype)
    guard case .answer(let a) = zone.lookup(q) else {
        Issue.record("\(c.qname) was not answered by the zone", sourceLocation: sourceLocation)
        return
    }
    #expect(a.rcode == c.rcode, "rcode of \(c)", sourceLocation: sourceLocation)
    #expect(normalized(a.answers) == c.answer.map(normalized).sorted(), "answer of \(c)", sourceLocation: sourceLocation)
    #expect(normalized(a.authorities) == c.ns.map(normalized).sorted(), "authority of \(c)", sourceLocation: sourceLocation)
    #expect(normalized(a.additionals) == c.extra.map(normalized).sorted(), "additional of \(c)", sourceLocation: sourceLocation)
    #expect(a.chase.map { "\($0.name) \($0.type)" } == c.chase, "chase of \(c)", sourceLocation: sourceLocation)
}

@Suite struct ClusterZoneTests {
    /// plugin/kubernetes/handler_test.go `dnsTestCases`.
    static let handlerCases: [ZoneCase] = [
        ZoneCase(qname: "svc1.testns.svc.cluster.local.", qtype: .a, answer: ["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "svcempty.testns.svc.cluster.local.", qtype: .a, answer: ["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "svc1.testns.svc.cluster.local.", qtype: .srv,
                 answer: ["svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local."],
                 extra: ["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "svcempty.testns.svc.cluster.local.", qtype: .srv,
                 answer: ["svcempty.testns.svc.cluster.local. 5 IN SRV 0 100 80 svcempty.testns.svc.cluster.local."],
                 extra: ["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "svc6.testns.svc.cluster.local.", qtype: .srv,
                 answer: ["svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local."],
                 extra: ["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"]),
        ZoneCase(qname: "_http._tcp.svc1.testns.svc.cluster.local.", qtype: .srv,
                 answer: ["_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local."],
                 extra: ["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "_http._tcp.svcempty.testns.svc.cluster.local.", qtype: .srv,
                 answer: ["_http._tcp.svcempty.testns.svc.cluster.local. 5 IN SRV 0 100 80 svcempty.testns.svc.cluster.local."],
                 extra: ["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "hdls1.testns.svc.cluster.local.", qtype: .a, answer: [
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2", "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
            "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4", "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
        ]),
        ZoneCase(qname: "hdlsprtls.testns.svc.cluster.local.", qtype: .a, answer: ["hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"]),
        ZoneCase(qname: "172-0-0-20.hdlsprtls.testns.svc.cluster.local.", qtype: .a,
                 answer: ["172-0-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"]),
        ZoneCase(qname: "172-0-0-2.hdls1.testns.svc.cluster.local.", qtype: .a, answer: ["172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2"]),
        ZoneCase(qname: "172-0-0-3.hdls1.testns.svc.cluster.local.", qtype: .a, answer: ["172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3"]),
        ZoneCase(qname: "dup-name.hdls1.testns.svc.cluster.local.", qtype: .a, answer: [
            "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4", "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
        ]),
        ZoneCase(qname: "_http._tcp.hdls1.testns.svc.cluster.local.", qtype: .srv, answer: [
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 172-0-0-2.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 172-0-0-3.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--1.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--2.hdls1.testns.svc.cluster.local.",
            "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 dup-name.hdls1.testns.svc.cluster.local.",
        ], extra: [
            "172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
            "172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
            "5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
            "5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
            "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
            "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
        ]),
        ZoneCase(qname: "5678-abcd--2.hdls1.testns.svc.cluster.local", qtype: .aaaa,
                 answer: ["5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"]),
        ZoneCase(qname: "external.testns.svc.cluster.local.", qtype: .cname,
                 answer: ["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."]),
        ZoneCase(qname: "external.testns.svc.cluster.local.", qtype: .a,
                 answer: ["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."], chase: "ext.interwebs.test. A"),
        ZoneCase(qname: "external-to-service.testns.svc.cluster.local", qtype: .a, answer: [
            "external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.",
            "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1",
        ]),
        ZoneCase(qname: "svc1.testns.svc.cluster.local.", qtype: .aaaa, ns: [soa]),
        ZoneCase(qname: "svc0.testns.svc.cluster.local.", qtype: .aaaa, rcode: .nxDomain, ns: [soa]),
        ZoneCase(qname: "svc0.testns.svc.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa]),
        ZoneCase(qname: "svc0.svc-nons.svc.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa]),
        ZoneCase(qname: "dns-version.cluster.local.", qtype: .txt, answer: ["dns-version.cluster.local. 28800 IN TXT \"1.1.0\""]),
        ZoneCase(qname: "bogusendpoint.hdls1.testns.svc.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa]),
        ZoneCase(qname: "bogusendpoint.svc0.testns.svc.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa]),
        ZoneCase(qname: "svc6.testns.svc.cluster.local.", qtype: .aaaa, answer: ["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"]),
        ZoneCase(qname: "_http._tcp.svc6.testns.svc.cluster.local.", qtype: .srv,
                 answer: ["_http._tcp.svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local."],
                 extra: ["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"]),
        ZoneCase(qname: "hdls1.testns.svc.cluster.local.", qtype: .aaaa, answer: [
            "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1", "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
        ]),
        ZoneCase(qname: "5678-abcd--1.hdls1.testns.svc.cluster.local.", qtype: .aaaa,
                 answer: ["5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1"]),
        ZoneCase(qname: "svc.cluster.local.", qtype: .a, ns: [soa]),
        ZoneCase(qname: "pod.cluster.local.", qtype: .a, ns: [soa]),
        ZoneCase(qname: "testns.svc.cluster.local.", qtype: .a, ns: [soa]),
        ZoneCase(qname: "svc.cluster.local.", qtype: .ns, ns: [soa]),
        ZoneCase(qname: "testns.svc.cluster.local.", qtype: .ns, ns: [soa]),
        ZoneCase(qname: "foo.cluster.local.", qtype: .ns, rcode: .nxDomain, ns: [soa]),
        ZoneCase(qname: "foo.svc.cluster.local.", qtype: .ns, rcode: .nxDomain, ns: [soa]),
        ZoneCase(qname: "svc-dual-stack.testns.svc.cluster.local.", qtype: .a, answer: ["svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3"]),
        ZoneCase(qname: "svc-dual-stack.testns.svc.cluster.local.", qtype: .aaaa, answer: ["svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3"]),
        ZoneCase(qname: "svc-dual-stack.testns.svc.cluster.local.", qtype: .srv,
                 answer: ["svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local."],
                 extra: ["svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3", "svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3"]),
        ZoneCase(qname: "svc1.testns.svc.cluster.local.", qtype: .soa, ns: [soa]),
        ZoneCase(qname: "endpoint.external.testns.svc.cluster.local.", qtype: .cname, rcode: .nxDomain, ns: [soa]),
        // handler_test.go `nsTestCases`: a namespace that does not exist.
        ZoneCase(qname: "svc1.nsnoexist.svc.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa]),
    ]

    @Test(arguments: handlerCases)
    func handler(_ c: ZoneCase) throws { try check(Fixture.zone(), c) }

    /// handler_case_test.go: names match in any case and echo the question's spelling.
    static let caseCases: [ZoneCase] = [
        ZoneCase(qname: "not-a-service.testns.svc.ClUsTeR.lOcAl.", qtype: .a, rcode: .nxDomain,
                 ns: ["ClUsTeR.lOcAl. 5 IN SOA ns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. 1499347823 7200 1800 86400 5"]),
        ZoneCase(qname: "SvC1.TeStNs.SvC.cLuStEr.LoCaL.", qtype: .a, answer: ["SvC1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.", qtype: .srv,
                 answer: ["_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN SRV 0 100 80 svc1.testns.svc.cLuStEr.LoCaL."],
                 extra: ["svc1.testns.svc.cLuStEr.LoCaL. 5 IN A 10.0.0.1"]),
        ZoneCase(qname: "Cluster.local.", qtype: .soa,
                 answer: ["Cluster.local. 5 IN SOA ns.dns.Cluster.local. hostmaster.Cluster.local. 1499347823 7200 1800 86400 5"]),
    ]

    @Test(arguments: caseCases)
    func preservesCase(_ c: ZoneCase) throws {
        try check(Fixture.zone(), c)
        // Names keep their exact spelling, not just a case-insensitive match.
        let q = DNSQuestion(name: DNSName(c.qname)!, type: c.qtype)
        guard case .answer(let a) = Fixture.zone().lookup(q) else { return }
        for rr in a.answers { #expect(rr.name.description == c.qname) }
    }

    /// kubernetes_apex_test.go.
    static let apexCases: [ZoneCase] = [
        ZoneCase(qname: "cluster.local.", qtype: .soa, answer: [soa]),
        ZoneCase(qname: "cluster.local.", qtype: .hinfo, ns: [soa]),
        ZoneCase(qname: "cluster.local.", qtype: .ns, answer: ["cluster.local. 5 IN NS ns.dns.cluster.local."],
                 extra: ["ns.dns.cluster.local. 5 IN A 10.0.0.10"]),
        ZoneCase(qname: "ns.dns.cluster.local.", qtype: .a, answer: ["ns.dns.cluster.local. 5 IN A 10.0.0.10"]),
        ZoneCase(qname: "dns.cluster.local.", qtype: .a, ns: [soa]),
    ]

    @Test(arguments: apexCases)
    func apex(_ c: ZoneCase) throws { try check(Fixture.zone(), c) }

    /// handler_pod_insecure_test.go, handler_pod_verified_test.go, handler_pod_disabled_test.go.
    static let podCases: [(PodRecordMode, ZoneCase)] = [
        (.insecure, ZoneCase(qname: "10-240-0-1.podns.pod.cluster.local.", qtype: .a, answer: ["10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1"])),
        (.insecure, ZoneCase(qname: "172-0-0-2.podns.pod.cluster.local.", qtype: .a, answer: ["172-0-0-2.podns.pod.cluster.local. 5 IN A 172.0.0.2"])),
        (.insecure, ZoneCase(qname: "blah.podns.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
        (.insecure, ZoneCase(qname: "blah.podns.pod.cluster.local.", qtype: .aaaa, rcode: .nxDomain, ns: [soa])),
        (.insecure, ZoneCase(qname: "blah.podns.pod.cluster.local.", qtype: .hinfo, rcode: .nxDomain, ns: [soa])),
        (.insecure, ZoneCase(qname: "blah.pod-nons.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
        (.insecure, ZoneCase(qname: "podns.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
        (.insecure, ZoneCase(qname: "fd00--1.podns.pod.cluster.local.", qtype: .aaaa, answer: ["fd00--1.podns.pod.cluster.local. 5 IN AAAA fd00::1"])),
        (.insecure, ZoneCase(qname: "10-240-0-1.podns.pod.cluster.local.", qtype: .aaaa, ns: [soa])),
        (.verified, ZoneCase(qname: "10-240-0-1.podns.pod.cluster.local.", qtype: .a, answer: ["10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1"])),
        (.verified, ZoneCase(qname: "podns.pod.cluster.local.", qtype: .a, ns: [soa])),
        (.verified, ZoneCase(qname: "testns.svc.cluster.local.", qtype: .a, ns: [soa])),
        (.verified, ZoneCase(qname: "pod-nons.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
        (.verified, ZoneCase(qname: "172-0-0-2.podns.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
        (.verified, ZoneCase(qname: "10-240-0-1.testns.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
        (.disabled, ZoneCase(qname: "10-240-0-1.podns.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
        (.disabled, ZoneCase(qname: "172-0-0-2.podns.pod.cluster.local.", qtype: .a, rcode: .nxDomain, ns: [soa])),
    ]

    @Test(arguments: podCases)
    func pods(_ mode: PodRecordMode, _ c: ZoneCase) throws { try check(Fixture.zone(podMode: mode), c) }

    /// reverse_test.go (endpoints moved to a headless service, as the specification has them).
    static let reverseCases: [ZoneCase] = [
        ZoneCase(qname: "100.0.0.10.in-addr.arpa.", qtype: .ptr, answer: ["100.0.0.10.in-addr.arpa. 5 IN PTR ep1a.hdlsrev.testns.svc.cluster.local."]),
        ZoneCase(qname: "100.1.168.192.in-addr.arpa.", qtype: .ptr, answer: ["100.1.168.192.in-addr.arpa. 5 IN PTR svcrev.testns.svc.cluster.local."]),
        ZoneCase(qname: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa.", qtype: .ptr,
                 // svc6's cluster IP is the same address in this fixture: both names are answered.
                 answer: ["1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 5 IN PTR ep1b.hdlsrev.testns.svc.cluster.local.",
                          "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 5 IN PTR svc6.testns.svc.cluster.local."]),
        ZoneCase(qname: "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.", qtype: .ptr,
                 answer: ["a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa. 5 IN PTR ip6svc1ex.hdlsrev.testns.svc.cluster.local."]),
        ZoneCase(qname: "6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.", qtype: .ptr,
                 answer: ["6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa. 5 IN PTR ip6svc1in.hdlsrev.testns.svc.cluster.local."]),
        // svc1 and svcempty share 10.0.0.1 in CoreDNS's fixture.
        ZoneCase(qname: "1.0.0.10.in-addr.arpa.", qtype: .ptr, answer: ["1.0.0.10.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local.",
                                                                         "1.0.0.10.in-addr.arpa. 5 IN PTR svcempty.testns.svc.cluster.local."]),
        ZoneCase(qname: "101.0.0.10.in-addr.arpa.", qtype: .ptr, rcode: .nxDomain,
                 ns: ["0.10.in-addr.arpa. 5 IN SOA ns.dns.0.10.in-addr.arpa. hostmaster.0.10.in-addr.arpa. 1499347823 7200 1800 86400 5"]),
        ZoneCase(qname: "0.10.in-addr.arpa.", qtype: .ptr,
                 ns: ["0.10.in-addr.arpa. 5 IN SOA ns.dns.0.10.in-addr.arpa. hostmaster.0.10.in-addr.arpa. 1499347823 7200 1800 86400 5"]),
        ZoneCase(qname: "example.org.cluster.local.", qtype: .ptr, rcode: .nxDomain, ns: [soa]),
    ]

    @Test(arguments: reverseCases)
    func reverse(_ c: ZoneCase) throws { try check(Fixture.zone(), c) }

    /// handler_test.go `notSyncedTestCases`: before the store is read, NXDOMAIN becomes SERVFAIL.
    @Test func servfailBeforeSync() throws {
        try check(Fixture.zone(synced: false), ZoneCase(qname: "svc0.testns.svc.cluster.local.", qtype: .a, rcode: .servFail, ns: [soa]))
        try check(ClusterZone(configuration: ZoneConfiguration()),
                  ZoneCase(qname: "web.shop.svc.cluster.local.", qtype: .a, rcode: .servFail,
                           ns: ["cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"]))
    }

    @Test func outsideNamesAreNotAnswered() {
        let zone = Fixture.zone()
        #expect(zone.lookup(DNSQuestion(name: DNSName("example.org")!, type: .a)) == .outside)
        #expect(zone.lookup(DNSQuestion(name: DNSName("1.1.168.193.in-addr.arpa")!, type: .ptr)) == .outside)
        #expect(zone.lookup(DNSQuestion(name: DNSName("local")!, type: .soa)) == .outside)
    }

    @Test func reverseZonesOfUnalignedCIDRs() {
        let config = ZoneConfiguration(reverseCIDRs: [CIDR("10.96.0.0/12")!, CIDR("10.244.0.0/16")!, CIDR("fd00:10:96::/108")!])
        let zones = config.reverseZones.map(\.description)
        #expect(zones.count == 16 + 1 + 1)
        #expect(zones.first == "96.10.in-addr.arpa.")
        #expect(zones.contains("111.10.in-addr.arpa."))
        #expect(zones.contains("244.10.in-addr.arpa."))
        // /108 is 27 nibbles.
        #expect(zones.contains("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa."))
    }
}

/// Cases from the specification and the issue that CoreDNS's tables do not cover.
@Suite struct SpecificationTests {
    static func zone(_ services: [Service], _ slices: [EndpointSlice] = [], pods: [Pod] = []) -> ClusterZone {
        ClusterZone(services: services, endpointSlices: slices, pods: pods, namespaces: [], serial: 1499347823,
                    configuration: ZoneConfiguration())
    }

    @Test func headlessWithoutReadyEndpointsIsNXDOMAIN() throws {
        let z = Self.zone([Fixture.headless("shop", "db")],
                          [Fixture.slice("shop", "db", "db-1", [.init(ip: "10.244.0.5", ready: false)], ports: [("pg", "TCP", 5432)])])
        try check(z, ZoneCase(qname: "db.shop.svc.cluster.local", qtype: .a, rcode: .nxDomain, ns: [soa]))
        try check(z, ZoneCase(qname: "_pg._tcp.db.shop.svc.cluster.local", qtype: .srv, rcode: .nxDomain, ns: [soa]))
        // The namespace still exists.
        try check(z, ZoneCase(qname: "shop.svc.cluster.local", qtype: .a, ns: [soa]))
    }

    @Test func notReadyEndpointsArePublishedOnRequest() throws {
        let z = Self.zone([Fixture.service("shop", "db", ips: ["None"], publishNotReady: true)],
                          [Fixture.slice("shop", "db", "db-1", [.init(ip: "10.244.0.5", ready: false), .init(ip: "10.244.0.6")])])
        try check(z, ZoneCase(qname: "db.shop.svc.cluster.local", qtype: .a, answer: [
            "db.shop.svc.cluster.local. 5 IN A 10.244.0.5", "db.shop.svc.cluster.local. 5 IN A 10.244.0.6",
        ]))
    }

    @Test func podHostnameAndSubdomainNameTheEndpoint() throws {
        let z = Self.zone([Fixture.headless("shop", "db")],
                          [Fixture.slice("shop", "db", "db-1", [.init(ip: "10.244.0.5", pod: "db-0")], ports: [("pg", "TCP", 5432)])],
                          pods: [Fixture.pod("shop", "db-0", ip: "10.244.0.5", hostname: "primary", subdomain: "db")])
        try check(z, ZoneCase(qname: "primary.db.shop.svc.cluster.local", qtype: .a, answer: ["primary.db.shop.svc.cluster.local. 5 IN A 10.244.0.5"]))
        try check(z, ZoneCase(qname: "_pg._tcp.db.shop.svc.cluster.local", qtype: .srv,
                              answer: ["_pg._tcp.db.shop.svc.cluster.local. 5 IN SRV 0 100 5432 primary.db.shop.svc.cluster.local."],
                              extra: ["primary.db.shop.svc.cluster.local. 5 IN A 10.244.0.5"]))
        try check(z, ZoneCase(qname: "_pg._udp.db.shop.svc.cluster.local", qtype: .srv, rcode: .nxDomain, ns: [soa]))
        try check(z, ZoneCase(qname: "_tcp.db.shop.svc.cluster.local", qtype: .a, ns: [soa]))
        if case .answer(let a) = z.lookup(DNSQuestion(name: DNSName("primary.db.shop.svc.cluster.local")!, type: .a)) {
            #expect(a.sources.contains("EndpointSlice shop/db-1 endpoint 10.244.0.5 (Pod shop/db-0)"))
        }
    }

    @Test func externalNameLoopStops() throws {
        let z = Self.zone([
            Fixture.service("a", "x", ips: [], type: "ExternalName", externalName: "y.a.svc.cluster.local"),
            Fixture.service("a", "y", ips: [], type: "ExternalName", externalName: "x.a.svc.cluster.local"),
        ])
        guard case .answer(let a) = z.lookup(DNSQuestion(name: DNSName("x.a.svc.cluster.local")!, type: .a)) else {
            Issue.record("not answered"); return
        }
        #expect(a.answers.count == 9)
        #expect(a.answers.allSatisfy { $0.type == .cname })
    }

    @Test func unnamedPortsGetNoPortSRVButCountForTheServiceSRV() throws {
        let z = Self.zone([Fixture.service("shop", "web", ips: ["10.96.0.20"], ports: [("", "TCP", 80)])])
        try check(z, ZoneCase(qname: "web.shop.svc.cluster.local", qtype: .srv,
                              answer: ["web.shop.svc.cluster.local. 5 IN SRV 0 100 80 web.shop.svc.cluster.local."],
                              extra: ["web.shop.svc.cluster.local. 5 IN A 10.96.0.20"]))
        try check(z, ZoneCase(qname: "_tcp.web.shop.svc.cluster.local", qtype: .srv, rcode: .nxDomain, ns: [soa]))
    }

    @Test func multiPortServiceSRV() throws {
        let z = Self.zone([Fixture.service("shop", "web", ips: ["10.96.0.20"], ports: [("http", "TCP", 80), ("dns", "UDP", 53)])])
        try check(z, ZoneCase(qname: "_dns._udp.web.shop.svc.cluster.local", qtype: .srv,
                              answer: ["_dns._udp.web.shop.svc.cluster.local. 5 IN SRV 0 100 53 web.shop.svc.cluster.local."],
                              extra: ["web.shop.svc.cluster.local. 5 IN A 10.96.0.20"]))
        try check(z, ZoneCase(qname: "_dns._udp.web.shop.svc.cluster.local", qtype: .a, ns: [soa]))
        try check(z, ZoneCase(qname: "web.shop.svc.cluster.local", qtype: .srv, answer: [
            "web.shop.svc.cluster.local. 5 IN SRV 0 50 80 web.shop.svc.cluster.local.",
            "web.shop.svc.cluster.local. 5 IN SRV 0 50 53 web.shop.svc.cluster.local.",
        ], extra: ["web.shop.svc.cluster.local. 5 IN A 10.96.0.20"]))
    }

    @Test func customDomainAndTTL() throws {
        let z = ClusterZone(services: [Fixture.service("shop", "web", ips: ["10.96.0.20"], ports: [("http", "TCP", 80)])],
                            endpointSlices: [], pods: [], namespaces: [], serial: 9,
                            configuration: ZoneConfiguration(domain: DNSName("Kube.Example")!, ttl: 30))
        try check(z, ZoneCase(qname: "web.shop.svc.kube.example", qtype: .a, answer: ["web.shop.svc.kube.example. 30 IN A 10.96.0.20"]))
        try check(z, ZoneCase(qname: "nope.kube.example", qtype: .a, rcode: .nxDomain,
                              ns: ["kube.example. 30 IN SOA ns.dns.kube.example. hostmaster.kube.example. 9 7200 1800 86400 30"]))
        #expect(z.lookup(DNSQuestion(name: DNSName("web.shop.svc.cluster.local")!, type: .a)) == .outside)
    }
}
