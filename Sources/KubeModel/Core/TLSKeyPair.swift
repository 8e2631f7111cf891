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
