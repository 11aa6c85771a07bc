// The gradient norm AdamW clips with: summed on several threads, the same bits for any count.
import Kernels
import Model
import XCTest

final class GlobalNormTests: XCTestCase {
    override func tearDown() { setComputeThreads(1) }

    func testNormIsExactAndIndependentOfThreads() {
        // Three and a half blocks of 65,536 plus a tail that is not a multiple of eight.
        let count = 3 * 65_536 + 32_771
        let g = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { g.deallocate() }
        var reference = 0.0
        for i in 0..<count {
            g[i] = Float((i * 7919) % 2001 - 1000) * 1e-3
            reference += Double(g[i]) * Double(g[i])
        }
        var norms: [Float] = []
        for threads in [1, 2, 3, 8] {
            setComputeThreads(threads)
            norms.append(AdamW.globalNorm(g, count))
        }
        XCTAssertEqual(Double(norms[0]), reference.squareRoot(), accuracy: 1e-5 * reference.squareRoot())
        XCTAssertEqual(Set(norms.map(\.bitPattern)).count, 1, "norms differ by thread count: \(norms)")
    }
}
