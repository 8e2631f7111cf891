import Synchronization

/// Turns request bytes into response bytes: checks the request, answers from the cluster
/// zone, or hands the question to the forwarder. Cluster answers are computed synchronously
/// (on the event loop that read the packet); only forwarded questions go async.
public final class QueryHandler: Sendable {
    /// How the request arrived: it sets the size limit of the answer.
    public enum Transport: Sendable {
        case udp
        case tcp
    }

    /// What to do with a request.
    public enum Outcome: Sendable {
        case reply([UInt8])
        /// Not worth an answer (shorter than a header, or itself a response).
        case drop
        /// Needs the upstream resolvers: call `complete(_:)`.
        case forward(Pending)
    }

    /// A request waiting for the forwarder.
    public struct Pending: Sendable {
        let request: DNSMessage
        let question: DNSQuestion
        /// What the zone already answered (the CNAME of an ExternalName), if anything.
        let partial: ZoneAnswer?
        let maxSize: Int
        let transport: Transport
        let started: ContinuousClock.Instant
    }

    /// The UDP payload size kplane advertises and caps answers at (DNS Flag Day 2020).
    public static let udpPayloadSize: UInt16 = 1232

    /// Swapped whole on each snapshot; readers take a reference and look up outside the lock.
    private final class ZoneBox: Sendable {
        let zone: ClusterZone
        init(_ zone: ClusterZone) { self.zone = zone }
    }

    private let zone: Mutex<ZoneBox>
    private let forwarder: Forwarder?
    private let metrics: DNSMetrics

    public init(zone: ClusterZone, forwarder: Forwarder?, metrics: DNSMetrics) {
        self.zone = Mutex(ZoneBox(zone))
        self.forwarder = forwarder
        self.metrics = metrics
    }

    /// The zone answers come from.
    public var currentZone: ClusterZone { zone.withLock { $0 }.zone }

    /// Replaces the zone (a new snapshot of the store).
    public func update(_ newZone: ClusterZone) {
        let box = ZoneBox(newZone)
        zone.withLock { $0 = box }
    }

    public func handle(_ bytes: [UInt8], transport: Transport, clientIsV6: Bool = false) -> Outcome {
        let started = ContinuousClock.now
        guard let header = DNSMessage.decodeHeader(bytes), !header.isResponse else { return .drop }
        let request: DNSMessage
        do {
            request = try DNSMessage(decoding: bytes)
        } catch {
            var r = DNSMessage()
            r.header.id = header.id
            r.header.isResponse = true
            r.header.opcode = header.opcode
            r.header.recursionDesired = header.recursionDesired
            r.rcode = .formErr
            return finish(r, type: RRType(rawValue: 0), maxSize: 512, transport: transport, started: started)
        }
        let type = request.questions.first?.type ?? RRType(rawValue: 0)
        metrics.request(tcp: transport == .tcp, v6: clientIsV6, type: type)
        var response = DNSMessage.response(to: request)
        response.header.recursionAvailable = forwarder != nil
        var maxSize = 65535
        if transport == .udp {
            maxSize = request.edns.map { Int(min(max($0.udpPayloadSize, 512), QueryHandler.udpPayloadSize)) } ?? 512
        }
        if let edns = request.edns {
            response.edns = EDNS(udpPayloadSize: QueryHandler.udpPayloadSize, dnssecOK: edns.dnssecOK)
            guard edns.version == 0 else {
                response.rcode = .badVers
                return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
            }
        }
        guard request.header.opcode == 0 else {
            response.rcode = .notImp
            return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
        }
        guard request.questions.count == 1, let question = request.questions.first else {
            response.questions = []
            response.rcode = .formErr
            return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
        }
        switch question.qclass {
        case .inet:
            break
        case .chaos, .hesiod, .any, .none:
            response.rcode = .refused
            return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
        default:
            response.rcode = .formErr
            return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
        }
        if question.type == .axfr || question.type.rawValue == 251 || question.type == .opt {
            // No zone transfers (IXFR is 251); OPT is not a question.
            response.rcode = question.type == .opt ? .formErr : .refused
            return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
        }

        switch zone.withLock({ $0 }).zone.lookup(question) {
        case .answer(let answer):
            if let chase = answer.chase, forwarder != nil {
                return .forward(Pending(request: request, question: chase, partial: answer, maxSize: maxSize,
                                        transport: transport, started: started))
            }
            fill(&response, with: answer)
            return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
        case .outside:
            guard forwarder != nil else {
                response.rcode = .refused
                return finish(response, type: type, maxSize: maxSize, transport: transport, started: started)
            }
            return .forward(Pending(request: request, question: question, partial: nil, maxSize: maxSize,
                                    transport: transport, started: started))
        }
    }

    /// Resolves a forwarded request and returns the reply bytes.
    public func complete(_ pending: Pending) async -> [UInt8] {
        var response = DNSMessage.response(to: pending.request)
        response.header.recursionAvailable = true
        if pending.request.edns != nil {
            response.edns = EDNS(udpPayloadSize: QueryHandler.udpPayloadSize, dnssecOK: pending.request.edns?.dnssecOK ?? false)
        }
        if let partial = pending.partial { fill(&response, with: partial) }
        let result = await forwarder?.resolve(pending.question, checkingDisabled: pending.request.header.checkingDisabled) ?? .failed
        switch result {
        case .response(let e):
            response.rcode = e.rcode
            response.answers += e.answers
            response.authorities = e.authorities
            response.additionals = e.additionals
        case .failed:
            // A CNAME we already have is still worth returning; otherwise SERVFAIL.
            if pending.partial == nil { response.rcode = .servFail }
        }
        let type = pending.request.questions.first?.type ?? RRType(rawValue: 0)
        guard case .reply(let bytes) = finish(response, type: type, maxSize: pending.maxSize,
                                              transport: pending.transport, started: pending.started) else { return [] }
        return bytes
    }

    private func fill(_ response: inout DNSMessage, with answer: ZoneAnswer) {
        response.header.authoritative = true
        response.rcode = answer.rcode
        response.answers = answer.answers
        response.authorities = answer.authorities
        response.additionals = answer.additionals
    }

    private func finish(_ response: DNSMessage, type: RRType, maxSize: Int, transport: Transport,
                        started: ContinuousClock.Instant) -> Outcome {
        let bytes = response.encode(maxSize: maxSize)
        let elapsed = ContinuousClock.now - started
        metrics.response(response.rcode, tcp: transport == .tcp, type: type,
                         nanoseconds: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return .reply(bytes)
    }
}
