import KubemeterAgent
import Testing

@Suite struct FileDescriptorBudgetTests {
    static let wantedFiles = 85_000

    @Test func theShippedUnitsLimitHoldsEverything() {
        // LimitNOFILE=131072 in deploy/systemd: all the files and all the connections.
        let budget = FileDescriptorBudget(limit: 131_072, wantedFiles: Self.wantedFiles, wantedConnections: 256)
        #expect(budget == FileDescriptorBudget(keptFiles: 85_000, connections: 256))
    }

    @Test func underTheCommonSoftLimitKeptFilesGiveWayFirst() {
        // 1,024 with raising denied: 1,024 - 64 headroom - 256 connections = 704 kept files.
        let budget = FileDescriptorBudget(limit: 1_024, wantedFiles: Self.wantedFiles, wantedConnections: 256)
        #expect(budget == FileDescriptorBudget(keptFiles: 704, connections: 256))
    }

    @Test func aTightLimitLowersTheConnectionsOnceFilesAreAtTheirFloor() {
        // 128: 64 usable; files keep a quarter (16) and connections get the other 48.
        let budget = FileDescriptorBudget(limit: 128, wantedFiles: Self.wantedFiles, wantedConnections: 1_000)
        #expect(budget == FileDescriptorBudget(keptFiles: 16, connections: 48))
        #expect(budget.keptFiles + budget.connections + FileDescriptorBudget.headroom == 128)
    }

    @Test(arguments: [0, 1, 10, 64, 65, 100, 1_000, 5_000, 20_000, 1 << 20])
    func neverMoreThanTheLimitAndAlwaysOneConnection(limit: Int) {
        for connections in [1, 256, 5_000] {
            let budget = FileDescriptorBudget(limit: limit, wantedFiles: Self.wantedFiles, wantedConnections: connections)
            #expect(budget.connections >= 1 && budget.connections <= connections)
            #expect(budget.keptFiles >= 0 && budget.keptFiles <= Self.wantedFiles)
            if limit > FileDescriptorBudget.headroom {
                #expect(budget.keptFiles + budget.connections <= limit - FileDescriptorBudget.headroom)
            }
        }
    }
}
