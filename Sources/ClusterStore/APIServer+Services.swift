import KubeModel

extension APIServer {
    /// Allocates (or keeps) a Service's cluster IP, node ports and health-check node port,
    /// with the API server's messages for values out of range or already taken.
    func allocateService(_ object: Object, old: Object?, in txn: some StorageTransaction) throws -> Object {
        var svc = try object.decode(Service.self)
        let previous = try old?.decode(Service.self)
        let owner = APIServer.owner(object)
        var rng = SystemRandomNumberGenerator()

        // Keep what was allocated before when the update leaves it out.
        if let previous {
            if (svc.spec.clusterIP ?? "").isEmpty, svc.type != .externalName, let ip = previous.spec.clusterIP {
                svc.spec.clusterIP = ip
                svc.spec.clusterIPs = previous.spec.clusterIPs ?? [ip]
            }
            if svc.needsNodePorts, var ports = svc.spec.ports {
                for i in ports.indices where (ports[i].nodePort ?? 0) == 0 {
                    ports[i].nodePort = previous.ports.first { $0.port == ports[i].port && $0.protocol == ports[i].protocol }?.nodePort
                        ?? previous.ports.first { $0.name == ports[i].name && $0.nodePort != nil }?.nodePort
                }
                svc.spec.ports = ports
            }
            if svc.spec.externalTrafficPolicy == "Local", svc.type == .loadBalancer, (svc.spec.healthCheckNodePort ?? 0) == 0 {
                svc.spec.healthCheckNodePort = previous.spec.healthCheckNodePort
            }
        }

        var wanted: [(pool: String, value: String)] = []
        var errors: [FieldError] = []

        // Cluster IP.
        if svc.type == .externalName {
            svc.spec.clusterIP = nil
            svc.spec.clusterIPs = nil
        } else if svc.isHeadless {
            svc.spec.clusterIPs = ["None"]
        } else {
            let cidr = configuration.serviceCIDR
            if let requested = svc.spec.clusterIP, !requested.isEmpty {
                let ip = IPAddress(requested)!
                let path = FieldPath("spec").child("clusterIPs")
                let range = AllocationRange(cidr: cidr)
                let offset = APIServer.offset(of: ip, in: cidr)
                if !cidr.contains(ip) || offset.map({ $0 < range.first || $0 >= range.first + range.count }) ?? true {
                    errors.append(FieldError(.invalid, path, value: "[]string{\"\(requested)\"}",
                        "failed to allocate IP \(requested): the provided IP (\(requested)) is not in the valid range. The range of valid IPs is \(cidr)"))
                } else if let holder = try txn.allocationOwner(pool: APIServer.clusterIPPool, value: ip.description), holder != owner {
                    errors.append(FieldError(.invalid, path, value: "[]string{\"\(requested)\"}",
                        "failed to allocate IP \(requested): provided IP is already allocated"))
                } else {
                    wanted.append((APIServer.clusterIPPool, ip.description))
                }
            } else {
                let range = AllocationRange(cidr: cidr)
                var found: IPAddress?
                for offset in range.candidates(using: &rng) {
                    let ip = cidr.network.advanced(by: offset)
                    if try txn.allocationOwner(pool: APIServer.clusterIPPool, value: ip.description) == nil {
                        found = ip
                        break
                    }
                }
                guard let found else {
                    throw StoreError(.internalError, "Internal error occurred: failed to allocate a serviceIP: range is full")
                }
                svc.spec.clusterIP = found.description
                wanted.append((APIServer.clusterIPPool, found.description))
            }
            if let ip = svc.spec.clusterIP {
                svc.spec.clusterIPs = [ip]
                svc.spec.ipFamilies = [IPAddress(ip)?.isV4 == false ? "IPv6" : "IPv4"]
                if svc.spec.ipFamilyPolicy == nil { svc.spec.ipFamilyPolicy = "SingleStack" }
            }
        }

        // Node ports.
        let range = configuration.nodePortRange
        var taken = Set<Int>()
        func claimPort(_ requested: Int?, at path: FieldPath) throws -> Int {
            if let port = requested, port != 0 {
                if !range.contains(port) {
                    errors.append(.invalid(path, port, "provided port is not in the valid range. The range of valid ports is \(range.lowerBound)-\(range.upperBound)"))
                } else if let holder = try txn.allocationOwner(pool: APIServer.nodePortPool, value: String(port)), holder != owner {
                    errors.append(.invalid(path, port, "provided port is already allocated"))
                }
                taken.insert(port)
                return port
            }
            for offset in AllocationRange(ports: range).candidates(using: &rng) {
                let port = Int(offset)
                if !taken.contains(port), try txn.allocationOwner(pool: APIServer.nodePortPool, value: String(port)) == nil {
                    taken.insert(port)
                    return port
                }
            }
            throw StoreError(.internalError, "Internal error occurred: failed to allocate a nodePort: range is full")
        }
        if var ports = svc.spec.ports {
            for i in ports.indices {
                if svc.needsNodePorts {
                    // A port number shared by TCP and UDP of one service shares one node port.
                    let sibling = ports[..<i].first { $0.port == ports[i].port && $0.nodePort != nil && (ports[i].nodePort ?? 0) == 0 }
                    if let shared = sibling?.nodePort {
                        ports[i].nodePort = shared
                    } else {
                        ports[i].nodePort = try claimPort(ports[i].nodePort, at: FieldPath("spec").child("ports").index(i).child("nodePort"))
                    }
                    wanted.append((APIServer.nodePortPool, String(ports[i].nodePort!)))
                } else {
                    ports[i].nodePort = nil
                }
            }
            svc.spec.ports = ports
        }
        if svc.type == .loadBalancer && svc.spec.externalTrafficPolicy == "Local" {
            let port = try claimPort(svc.spec.healthCheckNodePort, at: FieldPath("spec").child("healthCheckNodePort"))
            svc.spec.healthCheckNodePort = port
            wanted.append((APIServer.nodePortPool, String(port)))
        } else {
            svc.spec.healthCheckNodePort = nil
        }
        if !errors.isEmpty { throw StoreError.invalid(object, errors) }

        // Record the new allocations and release what the service no longer holds.
        for pool in [APIServer.clusterIPPool, APIServer.nodePortPool] {
            let keep = Set(wanted.filter { $0.pool == pool }.map(\.value))
            for value in try txn.allocations(pool: pool, owner: owner) where !keep.contains(value) {
                try txn.release(pool: pool, value: value)
            }
            for value in keep where try txn.allocationOwner(pool: pool, value: value) == nil {
                try txn.allocate(pool: pool, value: value, owner: owner)
            }
        }

        var result = object
        var spec = result.json["spec"] ?? .object([:])
        let encoded = try JSONValue.encode(svc.spec)
        spec = spec.merging(encoded)
        // Fields the allocator cleared must go from the raw JSON too.
        if svc.spec.clusterIP == nil { spec["clusterIP"] = nil; spec["clusterIPs"] = nil }
        if svc.spec.healthCheckNodePort == nil { spec["healthCheckNodePort"] = nil }
        if !svc.needsNodePorts, case .array(var rawPorts)? = spec["ports"] {
            for i in rawPorts.indices { rawPorts[i]["nodePort"] = nil }
            spec["ports"] = .array(rawPorts)
        }
        result.setField("spec", spec)
        return result
    }

    /// The offset of `ip` from the network address of `cidr`, if it is inside.
    static func offset(of ip: IPAddress, in cidr: CIDR) -> UInt64? {
        guard cidr.contains(ip) else { return nil }
        switch (ip, cidr.network) {
        case (.v4(let a), .v4(let n)): return UInt64(a - n)
        case (.v6(_, let lo), .v6(_, let nlo)): return lo &- nlo
        default: return nil
        }
    }
}
