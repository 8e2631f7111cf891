import NIOCore
import NIOHTTP1

/// The request head sent to a backend, and how its body is framed.
///
/// Usually it is serialized here, once, into bytes that are written below the upstream
/// channel's `HTTPRequestEncoder` (no `HTTPHeaders` copy, no encoder pass). The response
/// decoder must still see a request head go by (it matches responses to requests, and a HEAD
/// response has no body): it gets a shared placeholder head of the same method, which
/// `PlaceholderHeadFilter` drops before the encoder. HEAD requests and upgrades keep the typed path.
struct UpstreamRequestHead {
    enum Form {
        case raw(ByteBuffer)
        case typed(HTTPRequestHead)
    }

    private(set) var form: Form
    let method: HTTPMethod
    /// The body goes as chunks (raw form: framed here).
    let chunked: Bool

    /// A builder that adds fields one by one in the chosen form.
    struct Builder {
        private var buffer: ByteBuffer?
        private var headers: HTTPHeaders?
        private let method: HTTPMethod
        private let uri: String

        init(method: HTTPMethod, uri: String, raw: Bool, allocator: ByteBufferAllocator, capacity: Int, fields: Int) {
            self.method = method
            self.uri = uri
            if raw {
                var b = allocator.buffer(capacity: capacity)
                b.writeString(method.rawValue)
                b.writeInteger(UInt8(ascii: " "))
                b.writeString(uri)
                b.writeStaticString(" HTTP/1.1\r\n")
                buffer = b
            } else {
                var h = HTTPHeaders()
                h.reserveCapacity(fields)
                headers = h
            }
        }

        mutating func add(_ name: String, _ value: String) {
            if buffer != nil {
                buffer!.writeString(name)
                buffer!.writeStaticString(": ")
                buffer!.writeString(value)
                buffer!.writeStaticString("\r\n")
            } else {
                headers!.add(name: name, value: value)
            }
        }

        consuming func finish(chunked: Bool) -> UpstreamRequestHead {
            if var b = buffer {
                b.writeStaticString("\r\n")
                return UpstreamRequestHead(form: .raw(b), method: method, chunked: chunked)
            }
            return UpstreamRequestHead(form: .typed(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers ?? [:])),
                                       method: method, chunked: chunked)
        }
    }

    /// Writes the head, then `parts` (bodies and end), on `upstream`; no flush.
    func send(_ parts: [HTTPClientRequestPart], on upstream: UpstreamHandler) {
        switch form {
        case .raw(let bytes):
            upstream.write(.head(PlaceholderHeadFilter.placeholder(for: method)))
            upstream.writeRaw(bytes)
        case .typed(let head):
            upstream.write(.head(head))
        }
        for part in parts { send(part, on: upstream) }
    }

    /// Writes one body part or the end of the request.
    func send(_ part: HTTPClientRequestPart, on upstream: UpstreamHandler) {
        guard case .raw = form else { return upstream.write(part) }
        switch part {
        case .head:
            preconditionFailure("the request head is sent by send(_:on:) with the parts that follow it")
        case .body(.byteBuffer(let body)):
            guard chunked else { return upstream.writeRaw(body) }
            guard body.readableBytes > 0, let allocator = upstream.channel?.allocator else { return }
            var size = allocator.buffer(capacity: 18)
            size.writeString(String(body.readableBytes, radix: 16))
            size.writeStaticString("\r\n")
            upstream.writeRaw(size)
            upstream.writeRaw(body)
            var crlf = allocator.buffer(capacity: 2)
            crlf.writeStaticString("\r\n")
            upstream.writeRaw(crlf)
        case .body(.fileRegion):
            preconditionFailure("the proxy never sends file regions")
        case .end:
            guard chunked, let allocator = upstream.channel?.allocator else { return }
            var last = allocator.buffer(capacity: 5)
            last.writeStaticString("0\r\n\r\n")
            upstream.writeRaw(last)
        }
    }
}

/// Sits between the response decoder and the request encoder of an upstream connection and
/// drops the placeholder heads `UpstreamRequestHead` writes for the decoder's sake (their bytes
/// were written below the encoder already). Everything else passes.
final class PlaceholderHeadFilter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private static let get = HTTPRequestHead(version: .http1_1, method: .GET, uri: "")
    private static let post = HTTPRequestHead(version: .http1_1, method: .POST, uri: "")

    /// A head with an empty URI (never one of a real request): only its method matters.
    static func placeholder(for method: HTTPMethod) -> HTTPRequestHead {
        switch method {
        case .GET: return get
        case .POST: return post
        default: return HTTPRequestHead(version: .http1_1, method: method, uri: "")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data), head.uri.isEmpty {
            promise?.succeed(())
            return
        }
        context.write(data, promise: promise)
    }
}
