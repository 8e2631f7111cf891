import NIOCore
import NIOHTTP1

/// What follows a request head to a backend.
enum RequestPart {
    case body(ByteBuffer)
    case end
}

/// The request head sent to a backend, serialized once by the proxy, and how its body is framed.
struct UpstreamRequestHead {
    let bytes: ByteBuffer
    let method: HTTPMethod
    /// The body goes as chunks (framed here).
    let chunked: Bool

    /// A builder that adds fields one by one.
    struct Builder {
        private var buffer: ByteBuffer
        private let method: HTTPMethod

        init(method: HTTPMethod, uri: String, allocator: ByteBufferAllocator, capacity: Int) {
            self.method = method
            buffer = allocator.buffer(capacity: capacity)
            buffer.writeString(method.rawValue)
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeString(uri)
            buffer.writeStaticString(" HTTP/1.1\r\n")
        }

        mutating func add(_ name: String, _ value: String) {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }

        consuming func finish(chunked: Bool) -> UpstreamRequestHead {
            buffer.writeStaticString("\r\n")
            return UpstreamRequestHead(bytes: buffer, method: method, chunked: chunked)
        }
    }

    /// Writes the head, then `parts` (bodies and end), on `upstream`; no flush.
    func send(_ parts: [RequestPart], on upstream: UpstreamHandler) {
        upstream.expectResponse(toHEAD: method == .HEAD)
        upstream.write(bytes)
        for part in parts { send(part, on: upstream) }
    }

    /// Writes one body part or the end of the request.
    func send(_ part: RequestPart, on upstream: UpstreamHandler) {
        switch part {
        case .body(let body):
            guard chunked else { return upstream.write(body) }
            guard body.readableBytes > 0, let allocator = upstream.channel?.allocator else { return }
            var size = allocator.buffer(capacity: 18)
            size.writeString(String(body.readableBytes, radix: 16))
            size.writeStaticString("\r\n")
            upstream.write(size)
            upstream.write(body)
            var crlf = allocator.buffer(capacity: 2)
            crlf.writeStaticString("\r\n")
            upstream.write(crlf)
        case .end:
            guard chunked, let allocator = upstream.channel?.allocator else { return }
            var last = allocator.buffer(capacity: 5)
            last.writeStaticString("0\r\n\r\n")
            upstream.write(last)
        }
    }
}
