import Foundation
import KubeModel

/// Makes ECDSA P-256 self-signed server certificates: kplane's default certificate, and the
/// certificates that tests serve.
public enum SelfSignedCertificate {
    /// A PEM certificate and its PEM private key.
    public struct PEMPair: Sendable, Hashable {
        public var certificatePEM: String
        public var keyPEM: String

        public init(certificatePEM: String, keyPEM: String) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }
    }

    /// A certificate valid from an hour ago for `days`, for the given DNS names.
    /// A self-signed ECDSA P-256 certificate for `dnsNames` (see `TLSKeyPair.selfSigned`).
    public static func make(commonName: String, dnsNames: [String], days: Int = 3650) throws -> PEMPair {
        let pair = try TLSKeyPair.selfSigned(hosts: dnsNames, commonName: commonName, days: days)
        return PEMPair(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
    }

    /// The default certificate: read from `directory` (`default.crt`, `default.key`) or generated
    /// once and written there (key mode 0600).
    public static func loadOrCreateDefault(in directory: String) throws -> PEMPair {
        let certPath = directory + "/default.crt", keyPath = directory + "/default.key"
        let fm = FileManager.default
        if let cert = fm.contents(atPath: certPath), let key = fm.contents(atPath: keyPath) {
            return PEMPair(certificatePEM: String(decoding: cert, as: UTF8.self), keyPEM: String(decoding: key, as: UTF8.self))
        }
        let pair = try make(commonName: "kplane ingress default certificate", dnsNames: ["ingress.kplane.invalid"])
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard fm.createFile(atPath: keyPath, contents: Data(pair.keyPEM.utf8), attributes: [.posixPermissions: 0o600]),
              fm.createFile(atPath: certPath, contents: Data(pair.certificatePEM.utf8)) else {
            throw IngressError(.io, "cannot write the default certificate to \(directory)")
        }
        return pair
    }
}
