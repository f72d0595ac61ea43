import KubemeterExposition
import KubemeterSnapshot
import Testing

@Test func jsonStringsAreEscaped() {
    var json = JSONWriter()
    json.beginObject()
    json.field("a\"b", "line\nnext\ttab\\ \u{01} é")
    json.field("n", nil as UInt64?)
    json.field("x", Double.nan)
    json.field("y", 0.25)
    json.key("list")
    json.beginArray()
    json.value(1 as Int?)
    json.value(true as Bool?)
    json.endArray()
    json.endObject()
    #expect(String(decoding: json.bytes, as: UTF8.self)
        == #"{"a\"b":"line\nnext\ttab\\ \u0001 é","n":null,"x":null,"y":0.25,"list":[1,true]}"#)
}

@Test func podsJSONCarriesIdentityAndValues() {
    let text = String(decoding: SnapshotJSONRenderer().render(TopFixture.snapshot(step: 1)), as: UTF8.self)
    #expect(text.hasPrefix(#"{"timestamp_ms":3000,"scrape_failed":false,"node":{"cpu_usage_seconds":104.0,"#))
    #expect(text.contains(#""namespace":"shop","name":"web-1","uid":"uid-web","qos_class":"burstable","cgroup_path":"/kubepods/web","host_network":false,"cpu_usage_seconds":2.0,"cpu_periods":120,"cpu_throttled_periods":15,"#))
    #expect(text.contains(#""cpu_limit_cores":0.5,"memory_working_set_bytes":209715200,"memory_usage_bytes":314572800,"memory_limit_bytes":419430400,"#))
    #expect(text.contains(#""oom_kills":3,"#))
    #expect(text.contains(#""memory":{"some_avg10":7.25,"some_total_seconds":0.0,"full_avg10":0.0,"full_total_seconds":0.0}"#))
    #expect(text.contains(#"{"name":"side\"car","id":"c-side","runtime":"containerd","cgroup_path":"/kubepods/web/side","start_time_seconds":null,"#))
    #expect(text.contains(#""network":[{"interface":"eth0","rx_bytes":5000,"tx_bytes":1000,"#))
    #expect(text.hasSuffix("}\n"))
}

@Test func topJSONCarriesRates() {
    let view = TopView(current: TopFixture.snapshot(step: 1), previous: TopFixture.snapshot(step: 0), options: TopOptions())
    let text = String(decoding: TopJSONRenderer().render(view), as: UTF8.self)
    #expect(text.contains(#""interval_seconds":2.0,"sort":"cpu""#))
    #expect(text.contains(#""pod":"web-1","container":null,"qos_class":"burstable","cpu_cores":0.5,"cpu_limit_cores":0.5,"cpu_percent_of_limit":100.0,"#))
    #expect(text.contains(#""throttled_percent":25.0,"oom_kills":3,"#))
}
