import Logging
import NIOCore
import Synchronization

/// Sends one query to one upstream server and returns the raw response.
public protocol UpstreamTransport: Sendable {
    func exchange(_ query: [UInt8], with server: SocketAddress, overTCP: Bool, timeout: Duration) async throws -> [UInt8]
}

/// Resolves names outside the cluster through upstream resolvers: UDP first, TCP when the
/// answer comes back truncated, the next server when one fails; answers cached by TTL and
/// identical concurrent questions sent upstream once.
public final class Forwarder: Sendable {
    public let upstreams: [SocketAddress]
    private let transport: any UpstreamTransport
    private let timeout: Duration
    private let logger: Logger
    private let metrics: DNSMetrics
    private let clock = ContinuousClock()
    private let epoch: ContinuousClock.Instant
    private let state: Mutex<State>

    private struct State {
        var cache: ForwardCache
        /// Callers waiting for a question already on its way upstream.
        var inflight: [ForwardCache.Key: [CheckedContinuation<Result, Never>]] = [:]
    }

    /// The outcome of forwarding one question.
    public enum Result: Sendable {
        case response(ForwardCache.Entry)
        case failed
    }

    public init(upstreams: [SocketAddress], transport: any UpstreamTransport, cacheCapacity: Int = 10_000,
                timeout: Duration = .seconds(2), metrics: DNSMetrics, logger: Logger) {
        self.upstreams = upstreams
        self.transport = transport
        self.timeout = timeout
        self.metrics = metrics
        self.logger = logger
        self.epoch = clock.now
        self.state = Mutex(State(cache: ForwardCache(capacity: cacheCapacity)))
    }

    private var now: Double {
        let d = clock.now - epoch
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The number of cached answers.
    public var cachedCount: Int { state.withLock { $0.cache.count } }

    /// Resolves `question`, from the cache when possible.
    public func resolve(_ question: DNSQuestion, checkingDisabled: Bool = false) async -> Result {
        let key = ForwardCache.Key(name: question.name, type: question.type, checkingDisabled: checkingDisabled)
        enum Step { case hit(ForwardCache.Entry), wait, lead }
        let now = self.now
        let step: Step = state.withLock { s in
            if let e = s.cache.get(key, now: now) { return .hit(e) }
            if s.inflight[key] != nil { return .wait }
            s.inflight[key] = []
            return .lead
        }
        switch step {
        case .hit(let e):
            metrics.cacheHit(denial: e.isDenial)
            return .response(e)
        case .wait:
            metrics.cacheMiss()
            return await withCheckedContinuation { c in
                let joined = state.withLock { s -> Bool in
                    guard s.inflight[key] != nil else { return false }
                    s.inflight[key]!.append(c)
                    return true
                }
                // The leader finished between our two looks: ask again (now a cache hit or a new lead).
                if !joined { Task { c.resume(returning: await self.resolve(question, checkingDisabled: checkingDisabled)) } }
            }
        case .lead:
            metrics.cacheMiss()
            let result = await ask(question, checkingDisabled: checkingDisabled)
            let waiters = state.withLock { s in
                if let m = result.message(for: question) { s.cache.put(key, m, now: now) }
                return s.inflight.removeValue(forKey: key) ?? []
            }
            for w in waiters { w.resume(returning: result) }
            return result
        }
    }

    /// Asks the upstreams in turn until one answers.
    private func ask(_ question: DNSQuestion, checkingDisabled: Bool) async -> Result {
        var query = DNSMessage(id: UInt16.random(in: 0...UInt16.max), question: question, edns: EDNS(udpPayloadSize: 1232))
        query.header.checkingDisabled = checkingDisabled
        let bytes = query.encode()
        for server in upstreams {
            do {
                var reply = try await exchange(bytes, query, server, tcp: false)
                if reply.header.truncated {
                    reply = try await exchange(bytes, query, server, tcp: true)
                }
                guard reply.rcode != .servFail && reply.rcode != .refused else {
                    logger.debug("dns.upstream.refused", metadata: ["dns.upstream": "\(server)", "dns.rcode": "\(reply.rcode)"])
                    continue
                }
                return .response(ForwardCache.Entry(rcode: reply.rcode, answers: reply.answers, authorities: reply.authorities,
                                                    additionals: reply.additionals, stored: 0, expires: 0))
            } catch {
                logger.debug("dns.upstream.failed", metadata: ["dns.upstream": "\(server)", "error": "\(error)"])
            }
        }
        logger.info("dns.forward.failed", metadata: ["dns.qname": "\(question.name)", "dns.upstreams": "\(upstreams.count)"])
        return .failed
    }

    private func exchange(_ bytes: [UInt8], _ query: DNSMessage, _ server: SocketAddress, tcp: Bool) async throws -> DNSMessage {
        let raw = try await transport.exchange(bytes, with: server, overTCP: tcp, timeout: timeout)
        let reply = try DNSMessage(decoding: raw)
        // A reply must answer our question with our id; anything else is noise or spoofing.
        guard reply.header.isResponse, reply.id == query.id, reply.questions == query.questions else {
            throw DNSError(.upstream, "reply from \(server) does not match the query")
        }
        return reply
    }
}

extension Forwarder.Result {
    /// The result as a message (for the cache), nil on failure.
    func message(for question: DNSQuestion) -> DNSMessage? {
        guard case .response(let e) = self else { return nil }
        var m = DNSMessage()
        m.header.isResponse = true
        m.questions = [question]
        m.rcode = e.rcode
        m.answers = e.answers
        m.authorities = e.authorities
        m.additionals = e.additionals
        return m
    }
}
