import Crypto
import Foundation
import X509

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
    public static func make(commonName: String, dnsNames: [String], days: Int = 3650) throws -> PEMPair {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("kplane")
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(dnsNames.map { GeneralName.dnsName($0) })
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return PEMPair(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: key.pemRepresentation)
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
