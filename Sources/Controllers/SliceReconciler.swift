import KubeModel

/// The part of the EndpointSlice controllers that both share (the selector-driven one and the
/// mirroring of hand-written `Endpoints`): given the endpoints a Service should expose, grouped
/// by address type and port list, and the slices this controller already wrote, decide the
/// fewest slice writes that make the store right. Endpoints stay in the slice they are in,
/// new ones fill slices with room before new slices are made, and slice names are derived
/// from the group and the names already taken, so that a restart computes the same answer.
public struct SliceReconciler: Sendable {
    /// One group of endpoints sharing an address type and a port list (one slice family).
    public struct Group: Sendable, Hashable {
        public var addressType: String
        public var ports: [EndpointSlice.Port]

        public init(addressType: String, ports: [EndpointSlice.Port]) {
            self.addressType = addressType
            self.ports = ports
        }
    }

    /// What to write.
    public struct Plan: Sendable, Equatable {
        public var create: [EndpointSlice] = []
        public var update: [EndpointSlice] = []
        public var delete: [EndpointSlice] = []

        public init() {}
        public var isEmpty: Bool { create.isEmpty && update.isEmpty && delete.isEmpty }
    }

    /// Labels, annotations and owner written on every slice of one Service.
    public struct SliceMeta: Sendable {
        public var namespace: String
        /// Prefix of slice names (the Service's or the Endpoints' name).
        public var namePrefix: String
        public var labels: [String: String]
        public var owner: OwnerReference
        /// Added to written slices only (never compared): `last-change-trigger-time`.
        public var triggerTime: String?

        public init(namespace: String, namePrefix: String, labels: [String: String], owner: OwnerReference, triggerTime: String? = nil) {
            self.namespace = namespace
            self.namePrefix = namePrefix
            self.labels = labels
            self.owner = owner
            self.triggerTime = triggerTime
        }
    }

    /// The most endpoints one slice holds (kube-controller-manager's default).
    public var maxEndpointsPerSlice: Int

    public init(maxEndpointsPerSlice: Int = 100) {
        self.maxEndpointsPerSlice = maxEndpointsPerSlice
    }

    public static let triggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time"

    /// Computes the writes. `existing` are the slices this controller owns for the Service;
    /// `takenNames` every slice name in the namespace (to avoid collisions with other writers).
    public func plan(desired: [Group: [EndpointSlice.Endpoint]], existing: [EndpointSlice], meta: SliceMeta, takenNames: Set<String>) -> Plan {
        var plan = Plan()
        var taken = takenNames
        let existing = existing.sorted { $0.name < $1.name }
        var used = Set<String>()   // names of existing slices kept

        // A Service with no endpoints at all keeps one empty placeholder slice, as kube does,
        // so that consumers can tell "no endpoints" from "not yet processed".
        let total = desired.values.reduce(0) { $0 + $1.count }
        if total == 0 {
            var placeholder = EndpointSlice()
            placeholder.addressType = desired.keys.sorted(by: SliceReconciler.groupOrder).first?.addressType ?? "IPv4"
            placeholder.endpoints = []
            placeholder.ports = []
            let keep = existing.first { ($0.endpoints ?? []).isEmpty && ($0.ports ?? []).isEmpty && $0.addressType == placeholder.addressType }
            if let keep {
                placeholder.metadata = keep.metadata
                if let updated = finish(placeholder, meta: meta, existing: keep) { plan.update.append(updated) }
                used.insert(keep.name)
            } else {
                placeholder.metadata.name = uniqueName(meta: meta, group: Group(addressType: placeholder.addressType, ports: []), taken: &taken)
                if let created = finish(placeholder, meta: meta, existing: nil) { plan.create.append(created) }
            }
            plan.delete = existing.filter { !used.contains($0.name) }
            return plan
        }

        for group in desired.keys.sorted(by: SliceReconciler.groupOrder) {
            let wanted = desired[group] ?? []
            var byAddress: [String: EndpointSlice.Endpoint] = [:]
            for endpoint in wanted {
                let key = endpoint.addresses.first ?? ""
                if byAddress[key] == nil { byAddress[key] = endpoint }
            }
            var placed = Set<String>()
            // Keep endpoints in the slices they are already in.
            var slices: [(original: EndpointSlice?, value: EndpointSlice)] = []
            for slice in existing where slice.addressType == group.addressType && SliceReconciler.samePorts(slice.ports ?? [], group.ports) && !used.contains(slice.name) {
                var value = slice
                value.endpoints = (slice.endpoints ?? []).compactMap { old in
                    let key = old.addresses.first ?? ""
                    guard let new = byAddress[key], placed.insert(key).inserted else { return nil }
                    return new
                }
                used.insert(slice.name)
                slices.append((slice, value))
            }
            var remaining = byAddress.keys.filter { !placed.contains($0) }.sorted(by: SliceReconciler.addressOrder).compactMap { byAddress[$0] }
            // Fill slices with room: first those that change anyway, then the others.
            let order = slices.indices.sorted { a, b in
                let ca = slices[a].original.map { $0 != slices[a].value } ?? true
                let cb = slices[b].original.map { $0 != slices[b].value } ?? true
                return ca != cb ? ca : a < b
            }
            for i in order where !remaining.isEmpty {
                let room = maxEndpointsPerSlice - (slices[i].value.endpoints?.count ?? 0)
                guard room > 0 else { continue }
                let take = remaining.prefix(room)
                slices[i].value.endpoints = (slices[i].value.endpoints ?? []) + take
                remaining.removeFirst(take.count)
            }
            while !remaining.isEmpty {
                var slice = EndpointSlice()
                slice.addressType = group.addressType
                slice.ports = group.ports
                let take = remaining.prefix(maxEndpointsPerSlice)
                slice.endpoints = Array(take)
                remaining.removeFirst(take.count)
                slice.metadata.name = uniqueName(meta: meta, group: group, taken: &taken)
                slices.append((nil, slice))
            }
            for (original, value) in slices {
                if let original, (value.endpoints ?? []).isEmpty {
                    plan.delete.append(original)
                } else if let original {
                    if let updated = finish(value, meta: meta, existing: original) { plan.update.append(updated) }
                } else if let created = finish(value, meta: meta, existing: nil) {
                    plan.create.append(created)
                }
            }
        }
        plan.delete += existing.filter { !used.contains($0.name) }
        return plan
    }

    /// Applies labels/owner; returns nil when `existing` already equals the result.
    private func finish(_ slice: EndpointSlice, meta: SliceMeta, existing: EndpointSlice?) -> EndpointSlice? {
        var slice = slice
        slice.metadata.namespace = meta.namespace
        slice.metadata.labels = meta.labels
        slice.metadata.ownerReferences = [meta.owner]
        if slice.endpoints == nil { slice.endpoints = [] }
        if slice.ports == nil { slice.ports = [] }
        if let existing {
            var a = existing, b = slice
            for i in (a.ports ?? []).indices where a.ports?[i].protocol == nil { a.ports?[i].protocol = "TCP" }
            a.metadata.annotations?[SliceReconciler.triggerTimeAnnotation] = nil
            b.metadata.annotations?[SliceReconciler.triggerTimeAnnotation] = nil
            if (a.metadata.annotations ?? [:]).isEmpty { a.metadata.annotations = nil }
            if (b.metadata.annotations ?? [:]).isEmpty { b.metadata.annotations = nil }
            if a.metadata.labels == b.metadata.labels && a.metadata.ownerReferences == b.metadata.ownerReferences
                && (a.endpoints ?? []) == (b.endpoints ?? []) && (a.ports ?? []) == (b.ports ?? []) && a.addressType == b.addressType {
                return nil
            }
        }
        if let time = meta.triggerTime {
            var annotations = slice.metadata.annotations ?? [:]
            annotations[SliceReconciler.triggerTimeAnnotation] = time
            slice.metadata.annotations = annotations
        }
        return slice
    }

    /// `<prefix>-<group hash>` then `-2`, `-3`…: the same group gets the same name after a restart.
    private func uniqueName(meta: SliceMeta, group: Group, taken: inout Set<String>) -> String {
        let hash = SliceReconciler.shortHash(meta.labels[EndpointSlice.managedByLabel, default: ""] + "|" + group.addressType + "|" + group.ports.map { "\($0.name ?? "")/\($0.protocol ?? "TCP")/\($0.port ?? 0)" }.joined(separator: ","))
        let base = String(meta.namePrefix.prefix(200)) + "-" + hash
        var name = base
        var n = 2
        while taken.contains(name) {
            name = "\(base)-\(n)"
            n += 1
        }
        taken.insert(name)
        return name
    }

    static func shortHash(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        var out = ""
        for _ in 0..<5 {
            out.append(alphabet[Int(h % UInt64(alphabet.count))])
            h /= UInt64(alphabet.count)
        }
        return out
    }

    static func samePorts(_ a: [EndpointSlice.Port], _ b: [EndpointSlice.Port]) -> Bool {
        func key(_ p: EndpointSlice.Port) -> String { "\(p.name ?? "")/\(p.protocol ?? "TCP")/\(p.port ?? 0)" }
        return a.map(key).sorted() == b.map(key).sorted()
    }

    static func groupOrder(_ a: Group, _ b: Group) -> Bool {
        func key(_ g: Group) -> String { g.addressType + "|" + g.ports.map { "\($0.name ?? "")/\($0.protocol ?? "TCP")/\($0.port ?? 0)" }.joined(separator: ",") }
        return key(a) < key(b)
    }

    static func addressOrder(_ a: String, _ b: String) -> Bool {
        switch (IPAddress(a), IPAddress(b)) {
        case let (x?, y?): return x < y
        default: return a < b
        }
    }
}
