namespace ZenTalk.MeshStorage.Rpc;

/// <summary>Limits and timeouts of the RPC layer, shared by the server and the client pool.</summary>
internal sealed class RpcOptions
{
    /// <summary>
    /// The wire protocol version this build speaks. Version 2 (the hardening of issue 16: store authorization, record
    /// rules, frame budget) is not compatible with version 1. Version 3 adds the private network proof to the Hello
    /// (<see cref="PrivateNetwork"/>); nothing else changes, so a node outside a private network still speaks 2 and the
    /// minimum stays 2, while a member speaks 3 only (<see cref="Rpc.PrivateNetwork.MinProtocolVersion"/>). Every wire
    /// change belongs to a version; this is the one place it is set.
    /// </summary>
    public const uint ProtocolVersion = 3;

    /// <summary>The oldest peer protocol version this build accepts; a peer offering only older ones is refused with UNSUPPORTED_VERSION.</summary>
    public const uint MinProtocolVersion = 2;

    /// <summary>Default largest frame: 4 MiB. Shards travel whole in one frame, so they are capped at
    /// <see cref="MaxShardSize"/> (frame size minus 64 KiB for the envelope and metadata).</summary>
    public const int DefaultMaxFrameSize = 4 * 1024 * 1024;

    /// <summary>
    /// Largest frame during the version exchange (a Hello is about a hundred bytes). The peer's Hello is kept for the
    /// connection's life, so without this a thousand peers could each park a maximum frame in the node's memory.
    /// </summary>
    public const int MaxHandshakeFrameSize = 4096;

    /// <summary>Room kept in a frame for everything but the shard bytes.</summary>
    public const int FrameOverhead = 64 * 1024;

    /// <summary>Largest frame accepted or sent (bytes after the length prefix). Larger prefixes disconnect the peer.</summary>
    public int MaxFrameSize { get; init; } = DefaultMaxFrameSize;

    /// <summary>Largest shard that fits one PUT_SHARD/GET_SHARD frame.</summary>
    public int MaxShardSize => MaxFrameSize - FrameOverhead;

    /// <summary>TCP connect + TLS + version exchange must finish within this time, or the connection is dropped.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Once the first byte of a frame arrived, the whole frame must arrive within this time (slowloris).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A connection with no call in flight is closed after this long without traffic (dialer side) or without a useful
    /// request (listener side: any request but PING and NODE_INFO), so pings alone do not keep an inbound slot.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// When the inbound connection table is full, a newcomer takes the slot of an idle connection (nothing in flight)
    /// whose last useful request is at least this old: the least recently useful one, from the most crowded address
    /// prefix first. Default 5 s.
    /// </summary>
    public TimeSpan EvictableAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline of a call when the caller gives none.</summary>
    public TimeSpan DefaultCallTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Most connections a server accepts at once (further ones are closed on accept).</summary>
    public int MaxInboundConnections { get; init; } = 1024;

    /// <summary>Most inbound connections from one IP address.</summary>
    public int MaxInboundConnectionsPerAddress { get; init; } = 16;

    /// <summary>
    /// Most inbound connections from one address prefix (IPv4 /24, IPv6 /48: <see cref="AddressPrefix"/>), so that one
    /// operator with many addresses cannot take the connection table: 64 IPv4 addresses or one IPv6 /64 would otherwise
    /// take all <see cref="MaxInboundConnections"/> within the per-address limit. Default 64.
    /// </summary>
    public int MaxInboundConnectionsPerPrefix { get; init; } = 64;

    /// <summary>
    /// Whether peers connecting from a loopback address are exempt from the per-address and per-prefix limits. Only a
    /// node listening on loopback sets it (a local cluster's nodes all connect from 127.0.0.1); such a listener cannot
    /// be reached from other machines. Default false.
    /// </summary>
    public bool ExemptLoopbackPeers { get; init; }

    /// <summary>Most connections the client pool keeps open (idle ones are closed first to make room).</summary>
    public int MaxOutboundConnections { get; init; } = 512;

    /// <summary>Calls in flight on one connection; more wait (backpressure) and the server stops reading.</summary>
    public int MaxInFlightPerConnection { get; init; } = 128;

    /// <summary>Requests a server handles at once over all connections; more wait, unread, in the sockets.</summary>
    public int MaxInFlightTotal { get; init; } = 2048;

    /// <summary>
    /// Bytes a server holds for all its peers together: requests being handled and answers not yet written. At the
    /// limit it stops reading requests (TCP pushes back on the peers) until answers are written. Default 128 MiB
    /// (32 frames of the default maximum size); at least <see cref="MaxFrameSize"/>.
    /// </summary>
    public long MaxBufferedBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>
    /// The share of <see cref="MaxBufferedBytes"/> one connection may hold, so that a peer which stops reading its
    /// answers (until <see cref="ReadTimeout"/> drops it) cannot take the whole budget from the others. Default 32 MiB
    /// (a quarter of the default budget); clamped to <see cref="MaxBufferedBytes"/>; at least <see cref="MaxFrameSize"/>.
    /// </summary>
    public long MaxBufferedBytesPerConnection { get; init; } = 32L * 1024 * 1024;

    /// <summary>Frames queued for sending on one connection before senders wait.</summary>
    public int SendQueueCapacity { get; init; } = 256;

    /// <summary>
    /// The private network this node is a member of, or null (the default) for the open mesh. A member admits only
    /// peers that prove membership in the version exchange and refuses every other peer before serving or sending
    /// anything (docs/protocol.md §2.1).
    /// </summary>
    public PrivateNetwork? PrivateNetwork { get; init; }

    /// <summary>Agent text sent in the version exchange.</summary>
    public string Agent { get; init; } = "zentalk-meshstorage/0.1";

    /// <summary>
    /// Fault-injection hook for tests and the hardening tool (null in every real node): wraps the TCP stream of each
    /// outbound connection, below TLS, given the remote endpoint. Every RPC travels on a connection its caller
    /// dialed, so wrapping the dialer's side sees every byte of both directions. The wrapper may delay, stall, cut or
    /// tamper with the bytes, or throw <see cref="System.IO.IOException"/> to refuse the connection.
    /// </summary>
    public Func<Stream, System.Net.IPEndPoint, Stream>? OutboundTransport { get; init; }

    /// <summary>Checks that the values are usable.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (MaxFrameSize < 2 * FrameOverhead || MaxFrameSize > 64 * 1024 * 1024)
            throw new ArgumentException($"MaxFrameSize must be between {2 * FrameOverhead} and 64 MiB.", nameof(MaxFrameSize));
        if (HandshakeTimeout <= TimeSpan.Zero || ReadTimeout <= TimeSpan.Zero || IdleTimeout <= TimeSpan.Zero || DefaultCallTimeout <= TimeSpan.Zero
            || EvictableAfter < TimeSpan.Zero)
            throw new ArgumentException("Timeouts must be positive.", nameof(HandshakeTimeout));
        if (MaxInboundConnections < 1 || MaxInboundConnectionsPerAddress < 1 || MaxInboundConnectionsPerPrefix < 1 || MaxOutboundConnections < 1
            || MaxInFlightPerConnection < 1 || MaxInFlightTotal < 1 || SendQueueCapacity < 1)
            throw new ArgumentException("Limits must be at least 1.", nameof(MaxInFlightPerConnection));
        if (MaxBufferedBytes < MaxFrameSize)
            throw new ArgumentException("MaxBufferedBytes must be at least MaxFrameSize, or a maximum frame could never be served.", nameof(MaxBufferedBytes));
        if (MaxBufferedBytesPerConnection < MaxFrameSize)
            throw new ArgumentException("MaxBufferedBytesPerConnection must be at least MaxFrameSize, or a maximum frame could never be served.", nameof(MaxBufferedBytesPerConnection));
    }
}
