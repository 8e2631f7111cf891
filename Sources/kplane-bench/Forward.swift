import ArgumentParser
import IngressProxy
import NIOCore
import NIOPosix
import NIOSSL

/// `kplane-bench forward`: a byte forwarder on SwiftNIO with the ingress proxy's socket settings,
/// one backend connection per client connection, no HTTP at all (optionally terminating TLS).
/// bench/ingress/run.sh runs it next to the proxies as the floor: the least any proxy built on
/// NIO's channel pipeline spends per request, so that kplane's figures can be read against what
/// NIO itself costs.
struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forward TCP bytes to one backend (the NIO floor of the ingress benchmark).")

    @Option(help: "Where to listen, HOST:PORT.") var listen: String
    @Option(help: "The backend, HOST:PORT.") var to: String
    @Option(help: "Terminate TLS with this PEM certificate chain.") var certificate: String?
    @Option(help: "The PEM private key of --certificate (default: the certificate file).") var key: String?

    func run() throws {
        let (listenHost, listenPort) = try Self.hostPort(listen, "--listen")
        let (backendHost, backendPort) = try Self.hostPort(to, "--to")
        let tls = try certificate.map { certificate in
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key ?? certificate, format: .pem)))
            configuration.minimumTLSVersion = .tlsv12
            configuration.applicationProtocols = ["http/1.1"]
            return try NIOSSLContext(configuration: configuration)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try ProxyBootstraps.server(group: group)
            .childChannelInitializer { client in
                let glues = NIOLoopBound(GlueHandler.matchedPair(), eventLoop: client.eventLoop)
                return ProxyBootstraps.upstream(eventLoop: client.eventLoop)
                    .channelInitializer { backend in
                        backend.eventLoop.makeCompletedFuture { try backend.pipeline.syncOperations.addHandler(glues.value.1) }
                    }
                    .connect(host: backendHost, port: backendPort)
                    .flatMapThrowing { _ in
                        let sync = client.pipeline.syncOperations
                        if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                        try sync.addHandler(glues.value.0)
                    }
            }
            .bind(host: listenHost, port: listenPort).wait()
        try server.closeFuture.wait()
    }

    private static func hostPort(_ text: String, _ option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("\(option) must be HOST:PORT, got \(text)")
        }
        return (String(text[..<colon]), port)
    }
}
