import NIOCore
import NIOPosix

/// The socket settings of the proxy's two sides in one place. The ingress listeners and the
/// upstream connections use them, and so does `kplane-bench forward`, which measures what NIO
/// itself costs per request with the same settings.
public enum ProxyBootstraps {
    /// Reads of up to 256 KB take a 100 KB response in one system call; smaller ones cost more
    /// reads than they save in cache (measured with the forwarder: 64 KB gives 4 % fewer
    /// requests a second on 100 KB responses, 16 KB 22 % fewer).
    static let recvAllocator = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: 256 * 1024)
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 * 1024, high: 1024 * 1024)

    /// A listener for clients.
    public static func server(group: any EventLoopGroup) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: writeBufferWaterMark)
            .childChannelOption(.recvAllocator, value: recvAllocator)
            .childChannelOption(.maxMessagesPerRead, value: 4)
    }

    /// A connection to a backend, made on the event loop of the client it serves.
    public static func upstream(eventLoop: any EventLoop) -> ClientBootstrap {
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: writeBufferWaterMark)
            .channelOption(.recvAllocator, value: recvAllocator)
    }
}
