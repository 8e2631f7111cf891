import Foundation
import KubeModel
import NIOSSL
import Synchronization
import X509

/// A certificate chain and key ready to be handed to a TLS handshake.
public final class ServerCertificate: Sendable {
    /// Where it comes from: `secret ns/name` or `default certificate`.
    public let source: String
    /// DNS names of the leaf's subjectAltName extension.
    public let dnsNames: [String]
    public let notValidAfter: Date?
    let override: NIOSSLContextConfigurationOverride
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey

    /// Parses a PEM chain and key; fails with a clear message when either is malformed or when
    /// the key does not belong to the leaf certificate.
    public init(source: String, certificatePEM: String, keyPEM: String) throws {
        let problems = TLSKeyPair.validate(certificatePEM: Data(certificatePEM.utf8), keyPEM: Data(keyPEM.utf8))
        if !problems.isEmpty {
            throw IngressError(.tls, "\(source): " + problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "))
        }
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
            key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        } catch {
            throw IngressError(.tls, "\(source): cannot load the certificate or key", cause: error)
        }
        guard !chain.isEmpty else { throw IngressError(.tls, "\(source): no certificate in tls.crt") }
        let leaf = try? X509.Certificate(pemEncoded: certificatePEM)
        var names: [String] = []
        for name in (try? leaf?.extensions.subjectAlternativeNames) ?? SubjectAlternativeNames() {
            if case .dnsName(let dns) = name { names.append(dns.lowercased()) }
        }
        self.source = source
        self.dnsNames = names
        self.notValidAfter = leaf?.notValidAfter
        var o = NIOSSLContextConfigurationOverride()
        o.certificateChain = chain.map { .certificate($0) }
        o.privateKey = .privateKey(key)
        self.override = o
    }

    /// Whether the certificate is valid for a host (RFC 6125: a `*.` name covers one label).
    /// A wildcard host is covered only by the same wildcard.
    public func covers(_ host: String) -> Bool {
        for name in dnsNames {
            if name == host { return true }
            if name.hasPrefix("*."), !host.hasPrefix("*."), let dot = host.firstIndex(of: "."), host[host.index(after: dot)...] == name.dropFirst(2) {
                return true
            }
        }
        return false
    }
}

/// Certificates by TLS server name: built with the route table from the same snapshot and
/// swapped with it, so a rotated Secret is served to the next handshake.
public struct CertificateTable: Sendable {
    let exact: [String: ServerCertificate]
    let wildcard: [String: ServerCertificate]
    public let defaultCertificate: ServerCertificate
    /// Missing, malformed or non-covering Secrets.
    public let problems: [RouteProblem]

    public init(defaultCertificate: ServerCertificate) {
        self.init(exact: [:], wildcard: [:], defaultCertificate: defaultCertificate, problems: [])
    }

    init(exact: [String: ServerCertificate], wildcard: [String: ServerCertificate], defaultCertificate: ServerCertificate, problems: [RouteProblem]) {
        self.exact = exact
        self.wildcard = wildcard
        self.defaultCertificate = defaultCertificate
        self.problems = problems
    }

    /// The certificate for an SNI name (any case, no trailing dot needed); the default when no
    /// TLS host covers it or the client sent no name.
    public func certificate(forServerName name: String?) -> ServerCertificate {
        guard let name, !name.isEmpty else { return defaultCertificate }
        let host = RequestTarget.normalizeHost(name)
        if let c = exact[host] { return c }
        if let dot = host.firstIndex(of: "."), let c = wildcard[String(host[host.index(after: dot)...])] { return c }
        return defaultCertificate
    }

    /// Resolves every TLS host's Secret. `cache` avoids parsing unchanged Secrets again.
    public static func build(tlsHosts: [String: TLSAssignment], secrets: [NamespacedName: SecretRecord], defaultCertificate: ServerCertificate,
                             cache: CertificateCache? = nil) -> CertificateTable {
        var exact: [String: ServerCertificate] = [:]
        var wildcard: [String: ServerCertificate] = [:]
        var problems: [RouteProblem] = []
        var loaded: [String: Result<ServerCertificate, IngressError>] = [:]
        for host in tlsHosts.keys.sorted() {
            let assignment = tlsHosts[host]!
            guard let secretName = assignment.secretName else { continue }
            let name = NamespacedName(namespace: assignment.secretNamespace, name: secretName)
            let key = name.description
            let result: Result<ServerCertificate, IngressError>
            if let hit = loaded[key] {
                result = hit
            } else {
                result = load(key: key, secret: secrets[name], cache: cache)
                loaded[key] = result
                if case .failure(let e) = result {
                    problems.append(RouteProblem(.tls, assignment.ingress, "\(e.message); serving the default certificate"))
                }
            }
            guard case .success(let cert) = result else { continue }
            if !cert.covers(host) {
                problems.append(RouteProblem(.tls, assignment.ingress, "secret \(key) does not cover host \(host) (names: \(cert.dnsNames.joined(separator: ", "))); serving the default certificate"))
                continue
            }
            if host.hasPrefix("*.") { wildcard[String(host.dropFirst(2))] = cert } else { exact[host] = cert }
        }
        cache?.retain(Set(loaded.keys))
        return CertificateTable(exact: exact, wildcard: wildcard, defaultCertificate: defaultCertificate, problems: problems)
    }

    static func load(key: String, secret: SecretRecord?, cache: CertificateCache?) -> Result<ServerCertificate, IngressError> {
        guard let secret else { return .failure(IngressError(.tls, "secret \(key) not found")) }
        if let type = secret.type, type != Secret.tlsType, type != "Opaque" {
            return .failure(IngressError(.tls, "secret \(key) has type \(type), expected \(Secret.tlsType)"))
        }
        guard let certText = secret.certificate, let keyText = secret.key else {
            return .failure(IngressError(.tls, "secret \(key) lacks \(Secret.tlsCertKey) or \(Secret.tlsPrivateKeyKey)"))
        }
        if let hit = cache?.lookup(key, certText, keyText) { return hit }
        let result: Result<ServerCertificate, IngressError>
        do {
            result = .success(try ServerCertificate(source: "secret \(key)", certificatePEM: certText, keyPEM: keyText))
        } catch let e as IngressError {
            result = .failure(IngressError(.tls, "secret \(key) is malformed: \(e.description)"))
        } catch {
            result = .failure(IngressError(.tls, "secret \(key) is malformed", cause: error))
        }
        cache?.store(key, certText, keyText, result)
        return result
    }
}

/// Parsed certificates by Secret and content, kept between table builds so that an unrelated
/// change does not parse every certificate again.
public final class CertificateCache: Sendable {
    private struct Entry {
        var cert: String
        var key: String
        var result: Result<ServerCertificate, IngressError>
    }
    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    func lookup(_ secret: String, _ cert: String, _ key: String) -> Result<ServerCertificate, IngressError>? {
        entries.withLock { e in
            guard let hit = e[secret], hit.cert == cert, hit.key == key else { return nil }
            return hit.result
        }
    }

    func store(_ secret: String, _ cert: String, _ key: String, _ result: Result<ServerCertificate, IngressError>) {
        entries.withLock { $0[secret] = Entry(cert: cert, key: key, result: result) }
    }

    /// Forgets Secrets no longer referenced.
    func retain(_ keys: Set<String>) {
        entries.withLock { e in e = e.filter { keys.contains($0.key) } }
    }
}
