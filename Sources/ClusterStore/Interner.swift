/// One shared copy of each distinct value, for informer states that keep many equal small
/// values (most Services have the same few ports, most Ingresses the same status): a record
/// that shares its array allocates nothing of its own, and leaves no small block pinning a page
/// of the heap once a burst of events has been freed.
public struct Interner<Value: Hashable & Sendable>: Sendable {
    private var values: Set<Value> = []

    public init() {}

    /// The shared copy of `value`. Copies no longer used are forgotten once there are more than
    /// twice as many as the values in use (`live`, counted by `liveCount`).
    public mutating func intern(_ value: Value, liveCount: Int, live: () -> [Value]) -> Value {
        if values.count > 2 * liveCount + 64 { values = Set(live()) }
        return values.insert(value).memberAfterInsert
    }
}
