import Crypto
import Foundation
import SwiftASN1
import X509

/// Checks that a certificate chain and a private key parse as PEM and belong together.
public enum TLSKeyPair {
    public struct Problem: Sendable, Hashable {
        public var field: String
        public var message: String
    }

    public static func validate(certificatePEM: Data, keyPEM: Data) -> [Problem] {
        let certText = String(decoding: certificatePEM, as: UTF8.self)
        let keyText = String(decoding: keyPEM, as: UTF8.self)
        var problems: [Problem] = []
        var leaf: Certificate?
        do {
            let certs = try PEMDocument.parseMultiple(pemString: certText)
                .filter { $0.discriminator == "CERTIFICATE" }
                .map { try Certificate(derEncoded: $0.derBytes) }
            if certs.isEmpty {
                problems.append(Problem(field: Secret.tlsCertKey, message: "no PEM CERTIFICATE block found"))
            }
            leaf = certs.first
        } catch {
            problems.append(Problem(field: Secret.tlsCertKey, message: "failed to parse certificate PEM: \(error)"))
        }
        var key: Certificate.PrivateKey?
        do {
            key = try Certificate.PrivateKey(pemEncoded: keyText)
        } catch {
            problems.append(Problem(field: Secret.tlsPrivateKeyKey, message: "failed to parse private key PEM: \(error)"))
        }
        if let leaf, let key, leaf.publicKey != key.publicKey {
            problems.append(Problem(field: Secret.tlsPrivateKeyKey, message: "private key does not match public key in tls.crt"))
        }
        return problems
    }
}

extension TLSKeyPair {
    /// A self-signed ECDSA P-256 certificate for `hosts` (DNS names or IP addresses, all
    /// put in the SAN), valid from a minute ago for `days`. Returns PEM text.
    public static func selfSigned(hosts: [String], commonName: String? = nil, days: Int = 365, now: Date = Date()) throws -> (certificatePEM: String, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let commonName = commonName ?? hosts.first ?? "kplane"
        let name = try DistinguishedName { CommonName(commonName) }
        let sans: [GeneralName] = hosts.map { host in
            if let ip = IPAddress(host) {
                switch ip {
                case .v4(let v):
                    return .ipAddress(ASN1OctetString(contentBytes: [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)]))
                case .v6(let hi, let lo):
                    let bytes = (0..<8).map { UInt8((hi >> (56 - 8 * UInt64($0))) & 255) } + (0..<8).map { UInt8((lo >> (56 - 8 * UInt64($0))) & 255) }
                    return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
                }
            }
            return .dnsName(host)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(sans)
            },
            issuerPrivateKey: .init(key)
        )
        return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }
}
