import Foundation

/// What a request for one URL would get: the answer of `kplane ingress route URL`.
public struct RouteExplanation: Sendable, CustomStringConvertible {
    public var url: String
    public var host: String
    public var path: String
    public var isHTTPS: Bool
    public var route: Route?
    public var upstreamPath: String?
    /// The certificate that the TLS handshake would present (HTTPS only).
    public var certificate: ServerCertificate?
    /// Problems of the matched Ingress (or of all Ingresses when nothing matched).
    public var problems: [RouteProblem]
    public var error: String?

    /// Explains `url` against tables computed from `inputs`. Never fails: a bad URL is explained too.
    public static func explain(_ url: String, inputs: RouteInputs, settings: IngressClassSettings = IngressClassSettings(),
                               defaultCertificate: ServerCertificate?) -> RouteExplanation {
        var e = RouteExplanation(url: url, host: "", path: "", isHTTPS: false, route: nil, upstreamPath: nil, certificate: nil, problems: [], error: nil)
        let text = url.contains("://") ? url : "http://" + url
        guard let parts = RequestTarget.parse(text), let authority = parts.authority else {
            e.error = "cannot parse \"\(url)\" as an http:// or https:// URL"
            return e
        }
        e.isHTTPS = text.lowercased().hasPrefix("https://")
        e.host = RequestTarget.normalizeHost(authority)
        e.path = parts.path
        let table = RouteTable.build(inputs, settings: settings)
        e.route = table.match(host: e.host, path: e.path)
        if let route = e.route {
            e.upstreamPath = route.upstreamPath(for: e.path) + (parts.query.map { "?" + $0 } ?? "")
            e.problems = table.problems.filter { $0.ingress == route.ingress }
        } else {
            e.problems = table.problems.sorted { ($0.ingress, $0.message) < ($1.ingress, $1.message) }
        }
        if e.isHTTPS, let defaultCertificate {
            let certs = CertificateTable.build(tlsHosts: table.tlsHosts, secrets: inputs.secrets, defaultCertificate: defaultCertificate)
            e.certificate = certs.certificate(forServerName: e.host)
            e.problems += certs.problems.filter { p in e.route.map { $0.ingress == p.ingress } ?? true }
        }
        return e
    }

    public var description: String {
        if let error { return "error: \(error)\n" }
        var out = "URL:        \(url)\n"
        out += "Host:       \(host.isEmpty ? "(none)" : host)\n"
        out += "Path:       \(path) (normalized)\n"
        guard let route else {
            out += "Result:     404 Not Found: no Ingress rule or default backend matches\n"
            return out + problemLines
        }
        out += "Ingress:    \(route.ingress)\n"
        if let ri = route.ruleIndex, let pi = route.pathIndex {
            out += "Rule:       spec.rules[\(ri)].http.paths[\(pi)]: host \(route.host ?? "*"), path \(route.path ?? "") (\(route.pathType?.rawValue ?? ""))\n"
        } else {
            out += "Rule:       spec.defaultBackend\n"
        }
        out += "Backend:    \(route.backend.target)\n"
        if !isHTTPS && route.redirectToHTTPS {
            out += "Result:     308 Permanent Redirect to https://\(host)\(path)\n"
        } else if let why = route.backend.unavailableReason {
            out += "Result:     503 Service Unavailable: \(why)\n"
        } else {
            let eps = route.backend.endpoints.map { $0.hostPort + ($0.ready ? "" : " (terminating)") }
            out += "Endpoints:  \(eps.joined(separator: ", "))\n"
            out += "Balancing:  \(route.options.affinity != nil ? "cookie affinity (\(route.options.affinity!.name)), else " : "")\(route.options.loadBalancing?.rawValue ?? IngressAnnotations.LoadBalancing.roundRobin.rawValue)\n"
            out += "Upstream:   \(route.options.backendProtocol.rawValue) \(upstreamPath ?? path)\n"
            out += "Timeouts:   connect \(Int(route.options.connectTimeoutSeconds))s, read \(Int(route.options.readTimeoutSeconds))s, send \(Int(route.options.sendTimeoutSeconds))s\n"
            if let limit = route.options.maxBodyBytes { out += "Body limit: \(limit) bytes\n" }
        }
        if let certificate {
            let expiry = certificate.notValidAfter.map { " (valid until \(ISO8601DateFormatter().string(from: $0)))" } ?? ""
            out += "TLS:        \(certificate.source): \(certificate.dnsNames.joined(separator: ", "))\(expiry)\n"
        }
        return out + problemLines
    }

    private var problemLines: String {
        problems.isEmpty ? "" : "Problems:\n" + problems.map { "  - \($0)\n" }.joined()
    }
}
