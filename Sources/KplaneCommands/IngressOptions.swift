import ArgumentParser
import ClusterStore
import IngressProxy
import KubeModel
import Logging

/// `kplane up` flags of the `ingress` component.
public struct IngressOptions: ParsableArguments {
    @Option(help: "Plain HTTP listen address (HOST:PORT; ':80' is every address; 'off' disables).")
    public var httpListen = ":80"
    @Option(help: "HTTPS listen address (HOST:PORT; 'off' disables).")
    public var httpsListen = ":443"
    @Option(help: "PEM certificate served when no Secret covers the SNI name (default: generated once in the state dir).")
    public var defaultCertificate: String?
    @Option(help: "PEM private key of --default-certificate.")
    public var defaultKey: String?
    @Option(help: "IngressClass name kplane implements.")
    public var ingressClass = IngressClassSettings.defaultClassName
    @Option(help: "Address written to status.loadBalancer.ingress of handled Ingresses (default: the node IP).")
    public var ingressStatusAddress: String?
    @Option(help: "Comma-separated CIDRs whose X-Forwarded-* headers are trusted.")
    public var trustedProxyCIDRs = ""
    @Flag(help: "Accept HTTP/2 with prior knowledge (h2c) on the plain HTTP listener.")
    public var h2c = false
    @Option(help: "Endpoint choice when an Ingress sets none: round-robin or least-request.")
    public var loadBalance = "round-robin"
    @Flag(inversion: .prefixedNo, help: "Write one JSON access log line per request to standard output.")
    public var accessLog = true

    public init() {}

    public func validate() throws {
        for (flag, value) in [("--http-listen", httpListen), ("--https-listen", httpsListen)] where value != "off" {
            _ = try Listen.parse(value)
            _ = flag
        }
        if (defaultCertificate == nil) != (defaultKey == nil) {
            throw ValidationError("--default-certificate and --default-key go together")
        }
        _ = try trustedProxies()
        guard IngressAnnotations.LoadBalancing(rawValue: loadBalance) != nil else {
            throw ValidationError("--load-balance: want round-robin or least-request")
        }
    }

    func trustedProxies() throws -> [CIDR] {
        try trustedProxyCIDRs.split(separator: ",").map { text in
            let t = text.trimmingCharacters(in: .whitespaces)
            if let c = CIDR(t) { return c }
            if let ip = IPAddress(t) { return CIDR(address: ip, prefixLength: ip.isV4 ? 32 : 128) }
            throw ValidationError("--trusted-proxy-cidrs: invalid CIDR \"\(t)\"")
        }
    }

    /// The `ingress` component. `nodeIP` is the default status address.
    public func makeService(informer: IngressInformer, store: any Store, stateDir: String, nodeIP: String?, logger: Logger) throws -> IngressService {
        let pair: SelfSignedCertificate.PEMPair
        if let cert = defaultCertificate, let key = defaultKey {
            guard let c = try? String(contentsOfFile: cert, encoding: .utf8), let k = try? String(contentsOfFile: key, encoding: .utf8) else {
                throw CLIError("cannot read --default-certificate \(cert) or --default-key \(key)")
            }
            pair = .init(certificatePEM: c, keyPEM: k)
        } else {
            pair = try SelfSignedCertificate.loadOrCreateDefault(in: stateDir + "/ingress")
        }
        var config = IngressConfiguration(
            httpListen: httpListen == "off" ? nil : try Listen.parse(httpListen),
            httpsListen: httpsListen == "off" ? nil : try Listen.parse(httpsListen),
            defaultCertificate: pair)
        config.classSettings = IngressClassSettings(className: ingressClass,
                                                    defaultLoadBalancing: IngressAnnotations.LoadBalancing(rawValue: loadBalance) ?? .roundRobin)
        config.statusAddress = ingressStatusAddress ?? nodeIP
        config.proxy.trustedProxies = try trustedProxies()
        config.proxy.h2c = h2c
        config.proxy.accessLog = accessLog
        return IngressService(configuration: config, informer: informer, store: store, logger: logger)
    }

    /// The kinds the component's informer follows.
    public static var resourceTypes: [ResourceType] { RouteInputs.resourceTypes }
}

import Foundation
