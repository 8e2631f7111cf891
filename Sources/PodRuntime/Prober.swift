import Foundation
import KubeModel

/// Runs one probe (httpGet, tcpSocket or exec) against a container, as kubelet does: HTTP
/// 200–399 succeeds, a TCP connect succeeds, exec exit 0 succeeds; all within timeoutSeconds.
public enum Prober {
    public enum Outcome: Sendable, Equatable {
        case success
        case failure(String)
    }

    public static func probe(_ probe: Pod.Probe, container: Pod.Container, podIP: String, pid: Int32?) async -> Outcome {
        let timeout = Double(max(1, probe.timeoutSeconds ?? 1))
        if let http = probe.httpGet {
            guard let port = resolve(http.port, in: container) else { return .failure("unknown port \(http.port)") }
            let host = http.host ?? podIP
            return await blocking { httpGet(host: host, port: port, path: http.path ?? "/", headers: http.httpHeaders ?? [], timeout: timeout) }
        }
        if let tcp = probe.tcpSocket {
            guard let port = resolve(tcp.port, in: container) else { return .failure("unknown port \(tcp.port)") }
            let host = tcp.host ?? podIP
            return await blocking {
                guard let fd = connect(host: host, port: port, timeout: timeout) else { return .failure("dial tcp \(host):\(port): connection refused or timed out") }
                close(fd)
                return .success
            }
        }
        if let exec = probe.exec {
            guard let pid else { return .failure("container is not running") }
            let argv = ContainerProcess.execArgv(pid: pid, command: exec.command ?? [])
            return await blocking {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: argv[0])
                p.arguments = Array(argv.dropFirst())
                p.environment = ContainerProcess.environment(of: pid)
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                p.standardInput = FileHandle.nullDevice
                do { try p.run() } catch { return .failure("exec failed: \(error)") }
                let deadline = Date().addingTimeInterval(timeout)
                while p.isRunning && Date() < deadline { usleep(10_000) }
                if p.isRunning {
                    kill(p.processIdentifier, SIGKILL)
                    return .failure("command timed out after \(Int(timeout))s")
                }
                return p.terminationStatus == 0 ? .success : .failure("command exited with \(p.terminationStatus)")
            }
        }
        return .failure("probe has no handler")
    }

    static func resolve(_ port: IntOrString, in container: Pod.Container) -> Int? {
        switch port {
        case .int(let n): return n
        case .string(let name): return container.ports?.first { $0.name == name }?.containerPort
        }
    }

    static func blocking(_ body: @escaping @Sendable () -> Outcome) async -> Outcome {
        await withCheckedContinuation { c in DispatchQueue.global().async { c.resume(returning: body()) } }
    }

    /// A non-blocking connect bounded by `timeout`; returns a connected blocking socket.
    static func connect(host: String, port: Int, timeout: Double) -> Int32? {
        guard let ip = IPAddress(host), case .v4(let v) = ip else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr = in_addr(s_addr: v.bigEndian)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 && errno != EINPROGRESS { close(fd); return nil }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { close(fd); return nil }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        guard err == 0 else { close(fd); return nil }
        _ = fcntl(fd, F_SETFL, flags)
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func httpGet(host: String, port: Int, path: String, headers: [Pod.HTTPHeader], timeout: Double) -> Outcome {
        guard let fd = connect(host: host, port: port, timeout: timeout) else {
            return .failure("Get \"http://\(host):\(port)\(path)\": dial tcp \(host):\(port): connect: connection refused")
        }
        defer { close(fd) }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: kube-probe/kplane\r\nAccept: */*\r\nConnection: close\r\n"
        for h in headers { request += "\(h.name): \(h.value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard send(fd, bytes, bytes.count, 0) == bytes.count else { return .failure("write failed") }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 12 else { return .failure("no HTTP response within \(Int(timeout))s") }
        let line = String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        guard parts.count >= 2, let code = Int(parts[1]) else { return .failure("malformed HTTP response") }
        return (200..<400).contains(code) ? .success : .failure("HTTP probe failed with statuscode: \(code)")
    }
}
