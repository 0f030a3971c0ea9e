namespace ZenTalk.StorageNode;

// The JSON bodies of the REST API (camelCase on the wire). Named types, so that the OpenAPI document describes them.

/// <summary>GET /health: the process is alive.</summary>
internal sealed record HealthResponse(string Status, string NodeId);

/// <summary>GET /ready: the routing table has peers and the stores are open.</summary>
internal sealed record ReadyResponse(string Status, int Peers);

/// <summary>A peer in the routing table.</summary>
internal sealed record PeerResponse(string Id, string Endpoint, DateTimeOffset LastSeen);

/// <summary>GET /network: the node's view of the mesh.</summary>
internal sealed record NetworkResponse(string NodeId, IReadOnlyList<string> Addresses, string Bootstrap, int RoutingTableSize,
    long StoredShards, long StoredBytes, string OwnerKeyId, IReadOnlyList<PeerResponse> Peers);

/// <summary>POST /upload: the stored file. Keep the key secret: it is the only way to read the file.</summary>
internal sealed record UploadResponse(string Cid, string Key, long Size);

/// <summary>A node that holds one shard of a segment.</summary>
internal sealed record HolderResponse(int Shard, string Node, string Endpoint);

/// <summary>One segment of GET /status/{cid}.</summary>
internal sealed record SegmentResponse(int Index, int ShardsExpected, int ShardsFound, int ShardsVerified, IReadOnlyList<int> MissingShards,
    string Health, IReadOnlyList<HolderResponse> Holders);

/// <summary>GET /status/{cid}: per-segment placement and health.</summary>
internal sealed record FileStatusResponse(string Cid, long Size, string Health, IReadOnlyList<SegmentResponse> Segments);

/// <summary>What the last repair pass did.</summary>
internal sealed record RepairResponse(DateTimeOffset At, int FilesChecked, int ShardsRepaired, int ShardsDropped, int SegmentsLost, int SegmentsUnreachable);

/// <summary>A warning or error the node logged.</summary>
internal sealed record LogEntryResponse(DateTimeOffset At, string Level, string Category, string Message);

/// <summary>The memory budget for transfers in flight.</summary>
internal sealed record TransfersResponse(int InFlight, int Waiting, int Slots, long BudgetBytes, long BytesPerTransfer);

/// <summary>GET /node: everything the status page shows.</summary>
internal sealed record NodeResponse(string NodeId, string Version, DateTimeOffset StartedAt, string MeshEndpoint, string Bootstrap,
    int Peers, long StoredShards, long StoredBytes, long? QuotaBytes, int Files, RepairResponse? LastRepair,
    IReadOnlyList<LogEntryResponse> RecentErrors, TransfersResponse Transfers, bool Ready);
