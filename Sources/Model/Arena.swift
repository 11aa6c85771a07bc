// Activation memory, llm.c style: one allocation per owner (an encoder, a head), carved into
// views once. The size is not written by hand: `Arena.carve` runs the carving code twice, once
// to add up what it takes and once, over an allocation of exactly that sum, to hand out the
// views. The carving code is the table.
import Kernels

/// One zeroed allocation of floats, carved into the views of its owner.
final class Arena {
    private let base: FloatPointer
    /// Floats held (the sum of every view taken).
    let count: Int

    private init(count: Int) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { base.deallocate() }

    /// Hands out consecutive views: `take(n)` is the next n floats.
    struct Cursor {
        fileprivate let base: FloatPointer?
        fileprivate let placeholder: FloatPointer
        fileprivate(set) var used = 0

        mutating func take(_ count: Int) -> FloatPointer {
            defer { used += count }
            guard let base else { return placeholder }   // measuring pass: the pointer is not used
            return base + used
        }
    }

    /// The arena that `layout` describes and the views it carves from it. `layout` must take
    /// the same sizes on both calls (it is a table, not a computation).
    static func carve<Views>(_ layout: (inout Cursor) -> Views) -> (arena: Arena, views: Views) {
        let placeholder = FloatPointer.allocate(capacity: 1)
        defer { placeholder.deallocate() }
        var measure = Cursor(base: nil, placeholder: placeholder)
        _ = layout(&measure)
        let arena = Arena(count: measure.used)
        var cursor = Cursor(base: arena.base, placeholder: placeholder)
        let views = layout(&cursor)
        precondition(cursor.used == measure.used, "an arena's layout took different sizes on its two passes")
        return (arena, views)
    }
}
