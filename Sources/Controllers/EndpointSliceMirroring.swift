import KubeModel

/// The EndpointSliceMirroring controller's semantics (kube-controller-manager's
/// `pkg/controller/endpointslicemirroring`): hand-written `Endpoints` of a selectorless
/// Service are mirrored into EndpointSlices so that slice consumers (the proxy, DNS) see them.
public enum EndpointSliceMirroring {
    /// The value of `endpointslice.kubernetes.io/managed-by` on mirrored slices.
    public static let controllerName = "endpointslicemirroring-controller.k8s.io"
    /// Endpoints with this label set to "true" are not mirrored.
    public static let skipMirrorLabel = "endpointslice.kubernetes.io/skip-mirror"
    /// At most this many addresses of one subset are mirrored (kube's limit).
    public static let maxAddressesPerSubset = 1000

    /// Whether `endpoints` (of `service`, nil when missing) should be mirrored.
    public static func mirrors(_ endpoints: Endpoints, service: Service?) -> Bool {
        guard let service, service.type != .externalName else { return false }
        if !(service.spec.selector ?? [:]).isEmpty { return false }
        if endpoints.labels[skipMirrorLabel] == "true" { return false }
        if endpoints.annotations["control-plane.alpha.kubernetes.io/leader"] != nil { return false }
        return true
    }

    /// Endpoints grouped by address type and port list; ready from `addresses`, not ready from
    /// `notReadyAddresses`.
    public static func groups(_ endpoints: Endpoints) -> [SliceReconciler.Group: [EndpointSlice.Endpoint]] {
        var groups: [SliceReconciler.Group: [EndpointSlice.Endpoint]] = [:]
        for subset in endpoints.subsets ?? [] {
            let ports = (subset.ports ?? []).map { p -> EndpointSlice.Port in
                var port = EndpointSlice.Port(name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP")
                port.appProtocol = p.appProtocol
                return port
            }
            let all = (subset.addresses ?? []).map { ($0, true) } + (subset.notReadyAddresses ?? []).map { ($0, false) }
            for (address, ready) in all.prefix(maxAddressesPerSubset) {
                guard let ip = IPAddress(address.ip) else { continue }
                var endpoint = EndpointSlice.Endpoint(addresses: [address.ip], conditions: .init(ready: ready), hostname: address.hostname, nodeName: address.nodeName)
                endpoint.targetRef = address.targetRef
                groups[SliceReconciler.Group(addressType: ip.isV4 ? "IPv4" : "IPv6", ports: ports), default: []].append(endpoint)
            }
        }
        return groups
    }

    /// Labels of a mirrored slice: the Endpoints' labels plus the service name and manager.
    public static func labels(for endpoints: Endpoints) -> [String: String] {
        var labels = endpoints.labels
        labels[EndpointSlice.serviceNameLabel] = endpoints.name
        labels[EndpointSlice.managedByLabel] = controllerName
        return labels
    }

    /// The controller owner reference to the Endpoints object.
    public static func owner(_ endpoints: Endpoints) -> OwnerReference {
        var ref = OwnerReference(apiVersion: "v1", kind: "Endpoints", name: endpoints.name, uid: endpoints.metadata.uid ?? "", controller: true)
        ref.blockOwnerDeletion = true
        return ref
    }
}
