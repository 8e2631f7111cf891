import KubeModel

/// What the cluster zone says about one question.
public struct ZoneAnswer: Sendable, Hashable {
    public var rcode: RCode = .noError
    public var answers: [ResourceRecord] = []
    public var authorities: [ResourceRecord] = []
    public var additionals: [ResourceRecord] = []
    /// A CNAME target outside the cluster zone that the resolver should resolve upstream
    /// and append (ExternalName services).
    public var chase: DNSQuestion?
    /// The objects that produced the answer (`Service shop/web`), for `kplane dns query`.
    public var sources: [String] = []

    public init() {}
}

/// Whether a question belongs to the cluster (and its answer) or must be forwarded.
public enum ZoneLookup: Sendable, Hashable {
    case answer(ZoneAnswer)
    case outside
}

extension ClusterZone {
    /// Answers `question` if it lies in the cluster zone or one of its reverse zones.
    public func lookup(_ question: DNSQuestion) -> ZoneLookup {
        if question.name.isSubdomain(of: configuration.domain) {
            return .answer(clusterAnswer(question, depth: 0))
        }
        for zone in reverseZones where question.name.isSubdomain(of: zone) {
            return .answer(reverseAnswer(question, zone: zone))
        }
        return .outside
    }

    // MARK: - Building blocks

    private var ttl: UInt32 { configuration.ttl }

    func soa(_ zone: DNSName) -> ResourceRecord {
        ResourceRecord(name: zone, ttl: ttl, data: .soa(
            mname: DNSName.join("ns.dns", zone) ?? zone, rname: DNSName.join("hostmaster", zone) ?? zone,
            serial: serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl))
    }

    func noData(_ zone: DNSName, _ sources: [String] = []) -> ZoneAnswer {
        var a = ZoneAnswer()
        a.authorities = [soa(zone)]
        a.sources = sources
        return a
    }

    func nxDomain(_ zone: DNSName) -> ZoneAnswer {
        var a = ZoneAnswer()
        // Before the first list a missing name may just not be known yet.
        a.rcode = isSynced ? .nxDomain : .servFail
        a.authorities = [soa(zone)]
        return a
    }

    private func addressRecords(_ owner: DNSName, _ ips: [IPAddress], _ type: RRType) -> [ResourceRecord] {
        ips.compactMap { ip in
            switch (ip, type) {
            case (.v4, .a), (.v4, .any): return ResourceRecord(name: owner, ttl: ttl, data: .a(ip))
            case (.v6, .aaaa), (.v6, .any): return ResourceRecord(name: owner, ttl: ttl, data: .aaaa(ip))
            default: return nil
            }
        }
    }

    private func addressAnswer(_ q: DNSQuestion, _ zone: DNSName, _ ips: [IPAddress], _ sources: [String]) -> ZoneAnswer {
        let records = addressRecords(q.name, ips, q.type)
        guard !records.isEmpty else { return noData(zone, sources) }
        var a = ZoneAnswer()
        a.answers = records
        a.sources = sources
        return a
    }

    // MARK: - The cluster zone

    func clusterAnswer(_ q: DNSQuestion, depth: Int) -> ZoneAnswer {
        let zoneLabels = configuration.domain.labelCount
        let relative = q.name.labelCount - zoneLabels
        // Echo the question's spelling of the zone in every name we make up.
        let zone = q.name.suffix(labels: zoneLabels)
        if relative == 0 { return apexAnswer(q, zone) }
        guard let key = q.name.lowercasedKey(firstLabels: relative) else { return nxDomain(zone) }
        let l = key.split(separator: ".", omittingEmptySubsequences: false)

        switch l.last! {
        case "dns-version" where l.count == 1:
            guard q.type == .txt || q.type == .any else { return noData(zone) }
            var a = ZoneAnswer()
            a.answers = [ResourceRecord(name: q.name, ttl: ZoneConfiguration.schemaTTL,
                                        data: .txt([Array(ZoneConfiguration.schemaVersion.utf8)]))]
            a.sources = ["DNS schema version"]
            return a
        case "dns" where l.count == 1:
            return noData(zone)
        case "dns" where l.count == 2 && l[0] == "ns":
            return addressAnswer(q, zone, nameserverIPs, ["Service kube-system/kube-dns"])
        case "svc":
            return serviceSubtree(q, zone, l.dropLast(), depth: depth)
        case "pod":
            return podSubtree(q, zone, l.dropLast())
        default:
            return nxDomain(zone)
        }
    }

    private func apexAnswer(_ q: DNSQuestion, _ zone: DNSName) -> ZoneAnswer {
        var a = ZoneAnswer()
        switch q.type {
        case .soa:
            a.answers = [soa(zone)]
        case .ns:
            let ns = DNSName.join("ns.dns", zone) ?? zone
            a.answers = [ResourceRecord(name: zone, ttl: ttl, data: .ns(ns))]
            a.additionals = addressRecords(ns, nameserverIPs, .any)
        default:
            return noData(zone)
        }
        a.sources = ["zone apex"]
        return a
    }

    /// Names under `svc.<zone>`; `l` holds the labels before `svc`, lowercase.
    private func serviceSubtree(_ q: DNSQuestion, _ zone: DNSName, _ l: ArraySlice<Substring>, depth: Int) -> ZoneAnswer {
        let l = Array(l)
        switch l.count {
        case 0:
            return noData(zone)
        case 1:
            return hasNamespace(String(l[0])) ? noData(zone, ["Namespace \(l[0])"]) : nxDomain(zone)
        case 2:
            guard let svc = service(String(l[0]), String(l[1])) else { return nxDomain(zone) }
            return serviceAnswer(q, zone, svc, portName: nil, proto: nil, depth: depth)
        case 3:
            guard let svc = service(String(l[1]), String(l[2])) else { return nxDomain(zone) }
            if l[0].hasPrefix("_") {
                // `_tcp.<svc>`: an empty non-terminal when some port uses that protocol.
                let proto = l[0].dropFirst()
                let exists: Bool
                switch svc.kind {
                case .headless: exists = svc.endpoints.contains { $0.ports.contains { $0.proto == proto } }
                case .clusterIPv4, .clusterIPs: exists = svc.ports.contains { $0.proto == proto && !$0.name.isEmpty }
                case .externalName: exists = false
                }
                return exists ? noData(zone, sourceOf(svc)) : nxDomain(zone)
            }
            guard case .headless = svc.kind else { return nxDomain(zone) }
            let matching = svc.endpoints.filter { $0.label == l[0] }
            guard !matching.isEmpty else { return nxDomain(zone) }
            return addressAnswer(q, zone, matching.map(\.address), sources(svc, matching))
        case 4:
            guard l[0].hasPrefix("_"), l[1].hasPrefix("_"), let svc = service(String(l[2]), String(l[3])) else {
                return nxDomain(zone)
            }
            if case .externalName = svc.kind { return nxDomain(zone) }
            return serviceAnswer(q, zone, svc, portName: l[0].dropFirst(), proto: l[1].dropFirst(), depth: depth)
        default:
            return nxDomain(zone)
        }
    }

    private func service(_ name: String, _ namespace: String) -> ServiceEntry? {
        service(NamespacedName(namespace: namespace, name: name))
    }

    private func sourceOf(_ svc: ServiceEntry) -> [String] { ["Service \(svc.namespace)/\(svc.name)"] }

    private func sources(_ svc: ServiceEntry, _ endpoints: [EndpointEntry]) -> [String] {
        var out = sourceOf(svc)
        for e in endpoints {
            var s = "EndpointSlice \(svc.namespace)/\(e.slice) endpoint \(e.address)"
            if let pod = e.pod { s += " (Pod \(svc.namespace)/\(pod))" }
            if !out.contains(s) { out.append(s) }
        }
        return out
    }

    /// A service name, or its `_port._proto` SRV name when `portName` is set.
    private func serviceAnswer(_ q: DNSQuestion, _ zone: DNSName, _ svc: ServiceEntry,
                               portName: Substring?, proto: Substring?, depth: Int) -> ZoneAnswer {
        func portMatches(_ p: PortEntry) -> Bool {
            guard let portName, let proto else { return true }
            return !p.name.isEmpty && p.name == portName && p.proto == proto
        }
        let target = DNSName.join(svc.relativeName, zone) ?? q.name
        switch svc.kind {
        case .externalName(let external):
            return externalNameAnswer(q, zone, svc, external, depth: depth)
        case .clusterIPv4, .clusterIPs:
            let ips = svc.record.clusterIPs
            let ports = svc.ports.filter(portMatches)
            if portName != nil && ports.isEmpty { return nxDomain(zone) }
            if q.type != .srv { return portName == nil ? addressAnswer(q, zone, ips, sourceOf(svc)) : noData(zone, sourceOf(svc)) }
            guard !ips.isEmpty, !ports.isEmpty else { return noData(zone, sourceOf(svc)) }
            // CoreDNS makes one SRV per port and cluster IP, weights them equally, then
            // drops duplicates (same target and port).
            let weight = UInt16(100 / (ports.count * ips.count))
            var a = ZoneAnswer()
            var seen = Set<UInt16>()
            for p in ports where seen.insert(p.port).inserted {
                a.answers.append(ResourceRecord(name: q.name, ttl: ttl, data: .srv(priority: 0, weight: weight, port: p.port, target: target)))
            }
            a.additionals = addressRecords(target, ips, .any)
            a.sources = sourceOf(svc)
            return a
        case .headless:
            guard !svc.endpoints.isEmpty else { return nxDomain(zone) }
            if q.type != .srv {
                if portName != nil {
                    let exists = svc.endpoints.contains { $0.ports.contains(where: portMatches) }
                    return exists ? noData(zone, sourceOf(svc)) : nxDomain(zone)
                }
                return addressAnswer(q, zone, svc.endpoints.map(\.address), sources(svc, svc.endpoints))
            }
            var pairs: [(EndpointEntry, PortEntry)] = []
            for e in svc.endpoints {
                for p in e.ports where portMatches(p) { pairs.append((e, p)) }
            }
            if pairs.isEmpty { return portName == nil ? noData(zone, sourceOf(svc)) : nxDomain(zone) }
            let weight = UInt16(max(1, 100 / pairs.count))
            var a = ZoneAnswer()
            var seenSRV = Set<String>()
            var seenAddress = Set<IPAddress>()
            var used: [EndpointEntry] = []
            for (e, p) in pairs {
                let name = DNSName.join("\(e.label).\(svc.relativeName)", zone) ?? target
                if seenSRV.insert("\(e.label):\(p.port)").inserted {
                    a.answers.append(ResourceRecord(name: q.name, ttl: ttl, data: .srv(priority: 0, weight: weight, port: p.port, target: name)))
                }
                if seenAddress.insert(e.address).inserted {
                    a.additionals += addressRecords(name, [e.address], .any)
                    used.append(e)
                }
            }
            a.sources = sources(svc, used)
            return a
        }
    }

    /// `CNAME` to the external name, chased inside the zone when it points there.
    private func externalNameAnswer(_ q: DNSQuestion, _ zone: DNSName, _ svc: ServiceEntry,
                                    _ external: DNSName, depth: Int) -> ZoneAnswer {
        var a = ZoneAnswer()
        a.answers = [ResourceRecord(name: q.name, ttl: ttl, data: .cname(external))]
        a.sources = sourceOf(svc)
        guard q.type != .cname else { return a }
        let next = DNSQuestion(name: external, type: q.type, qclass: q.qclass)
        if external.isSubdomain(of: configuration.domain) {
            // A chain longer than 8 is a loop of ExternalName services: stop with what we have.
            guard depth < 8 else { return a }
            let inner = clusterAnswer(next, depth: depth + 1)
            a.rcode = inner.rcode
            a.answers += inner.answers
            a.authorities = inner.authorities
            a.additionals = inner.additionals
            a.chase = inner.chase
            a.sources += inner.sources
        } else {
            a.chase = next
        }
        return a
    }

    /// Names under `pod.<zone>`; `l` holds the labels before `pod`.
    private func podSubtree(_ q: DNSQuestion, _ zone: DNSName, _ l: ArraySlice<Substring>) -> ZoneAnswer {
        let l = Array(l)
        switch (l.count, configuration.podMode) {
        case (0, _):
            return noData(zone)
        case (1, .verified):
            return hasNamespace(String(l[0])) ? noData(zone) : nxDomain(zone)
        case (2, .insecure):
            guard let ip = ClusterZone.undashed(l[0]) else { return nxDomain(zone) }
            return addressAnswer(q, zone, [ip], ["pod record for \(ip) (insecure mode: not checked against pods)"])
        case (2, .verified):
            guard let ip = ClusterZone.undashed(l[0]),
                  let pod = podIPs[PodIPKey(namespace: String(l[1]), ip: ip)] else { return nxDomain(zone) }
            return addressAnswer(q, zone, [ip], ["Pod \(l[1])/\(pod)"])
        default:
            // `<ns>.pod` in insecure mode is NXDOMAIN, as in CoreDNS.
            return nxDomain(zone)
        }
    }

    // MARK: - Reverse zones

    private func reverseAnswer(_ q: DNSQuestion, zone matched: DNSName) -> ZoneAnswer {
        let zone = q.name.suffix(labels: matched.labelCount)
        let labels = q.name.labels
        let isV4 = matched.isSubdomain(of: ClusterZone.inAddrArpa)
        let full = isV4 ? 4 + 2 : 32 + 2
        if labels.count < full { return noData(zone) }
        guard labels.count == full, let ip = ClusterZone.address(fromReverse: labels.dropLast(2), v4: isV4) else {
            return nxDomain(zone)
        }
        let refs = reverseRecords(ip).map(\.ref)
        guard !refs.isEmpty else { return nxDomain(zone) }
        guard q.type == .ptr || q.type == .any else { return noData(zone) }
        var a = ZoneAnswer()
        for ref in refs {
            guard let svc = service(ref.service) else { continue }
            if ref.endpoint < 0 {
                if let target = DNSName.join(svc.relativeName, configuration.domain) {
                    a.answers.append(ResourceRecord(name: q.name, ttl: ttl, data: .ptr(target)))
                }
                a.sources += sourceOf(svc)
            } else {
                let e = svc.endpoints[Int(ref.endpoint)]
                if let target = DNSName.join("\(e.label).\(svc.relativeName)", configuration.domain) {
                    a.answers.append(ResourceRecord(name: q.name, ttl: ttl, data: .ptr(target)))
                }
                a.sources += sources(svc, [e])
            }
        }
        return a
    }

    static let inAddrArpa = DNSName("in-addr.arpa")!

    /// The address a full reverse name spells (labels before `in-addr.arpa` / `ip6.arpa`).
    static func address(fromReverse labels: ArraySlice<ArraySlice<UInt8>>, v4: Bool) -> IPAddress? {
        if v4 {
            var v: UInt32 = 0
            for label in labels.reversed() {
                guard !label.isEmpty, label.count <= 3, label.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      label.count == 1 || label.first != 0x30 else { return nil }
                let n = label.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                guard n <= 255 else { return nil }
                v = v << 8 | UInt32(n)
            }
            return .v4(v)
        }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for (i, label) in labels.reversed().enumerated() {
            guard label.count == 1, let d = hexDigit(label.first!) else { return nil }
            if i < 16 { hi = hi << 4 | UInt64(d) } else { lo = lo << 4 | UInt64(d) }
        }
        return .v6(hi, lo)
    }

    private static func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x61...0x66: return b - 0x61 + 10
        case 0x41...0x46: return b - 0x41 + 10
        default: return nil
        }
    }
}
