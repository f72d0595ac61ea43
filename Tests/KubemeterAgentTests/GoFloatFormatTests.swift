import KubemeterExposition
import Testing

/// Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints (and expfmt's
/// special cases), i.e. what the kubelet writes for the same value.
@Test(arguments: [
    (0.0, "0"), (1.0, "1"), (-1.0, "-1"), (0.5, "0.5"), (123456.0, "123456"),
    (1_234_567.0, "1.234567e+06"), (1e6, "1e+06"), (100_000.0, "100000"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"),
    (419_430_400.0, "4.194304e+08"), (1_763_885_021.0, "1.763885021e+09"),
    (1_763_885_021.123456, "1.763885021123456e+09"), (12.345678, "12.345678"),
    (4_999_999.999999, "4.999999999999e+06"), (1e21, "1e+21"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (Double.leastNonzeroMagnitude, "5e-324"), (-2.5e-5, "-2.5e-05"), (18_446_744_073_709_551_615.0, "1.8446744073709552e+19"),
    (Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"),
])
func goFormatting(value: Double, expected: String) {
    #expect(GoFloatFormat.format(value) == expected)
}

@Test func everyFormattedValueReadsBackExactly() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<20_000 {
        let value = Double(bitPattern: generator.next() & ~(0x7ff << 52) | (UInt64.random(in: 900...1200) << 52))
        let text = GoFloatFormat.format(value)
        #expect(Double(text) == value, "\(value) -> \(text)")
    }
}
