/// Remembers the keys seen so far and tells repeats apart, in time linear in the input: a short
/// list for the usual few keys, a hash set once there are many (a hostile file with thousands of
/// lines must not make the check quadratic).
struct DuplicateFinder<Key: Hashable> {
    private var few: [Key] = []
    private var many: Set<Key>?
    private static var listLimit: Int { 16 }

    /// Records `key`; returns false when it was seen before.
    mutating func insert(_ key: Key) -> Bool {
        if many != nil {
            return many!.insert(key).inserted
        }
        if few.contains(key) { return false }
        if few.count < Self.listLimit {
            few.append(key)
        } else {
            var set = Set(few)
            set.insert(key)
            many = set
            few = []
        }
        return true
    }
}
