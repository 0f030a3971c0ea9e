using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// The floor of a mesh client's CPU on loopback: the shard bytes of a store or a retrieve sent or received over TLS 1.3
/// with nothing else around them — no RPC framing, no protobuf, no lookups, no per-call state. A sink in the holders'
/// child process (<see cref="Server"/>) takes the bytes a store's PUT_SHARDs carry, one message per put, each acknowledged (15 connections,
/// shard j of every segment on connection j, each message as long as the put's frame); for a retrieve it serves the
/// shards back, one short request per shard as a GET_SHARD would be. Sockets, the stream stack and the TLS options are
/// the mesh's own (<see cref="RpcTransport"/>), so whatever the mesh's transport does per byte, the floor does too.
/// <para>
/// A message is <c>kind (1) ‖ u32 segment ‖ u32 length</c> then <c>length</c> bytes: <c>P</c> a put (the sink reads and
/// drops it), <c>Q</c> a put that is acknowledged (the sink reads it, drops it and answers with <see cref="PutAckSize"/> bytes,
/// as many as a PUT_SHARD response frame: a store learns each shard's outcome), <c>K</c> a shard to keep for later gets, <c>G</c> a get (length 0; the answer is <c>u32 length</c> and the
/// kept shard), <c>A</c> an acknowledgement request (answered with one byte once everything before it was read).
/// </para>
/// </summary>
internal static class TlsFloor
{
    private const byte Put = (byte)'P', AckedPut = (byte)'Q', Keep = (byte)'K', Get = (byte)'G', Ack = (byte)'A';

    /// <summary>Bytes of the sink's answer to an acknowledged put: a PUT_SHARD response frame's.</summary>
    internal static readonly int PutAckSize = ZenTalk.MeshStorage.Rpc.FrameWriter.WireSize(new ZenTalk.MeshStorage.Rpc.Wire.Frame
    {
        RequestId = 1000,
        Response = new ZenTalk.MeshStorage.Rpc.Wire.Response
        {
            Status = new ZenTalk.MeshStorage.Rpc.Wire.Status { Code = ZenTalk.MeshStorage.Rpc.Wire.StatusCode.Ok },
            PutShard = new ZenTalk.MeshStorage.Rpc.Wire.PutShardResponse(),
        },
    }, out _);
    private const int HeaderSize = 9;

    // The most plaintext one TLS record carries: the first record of a message is filled from a scratch copy (as the
    // mesh's frame writer fills the record that holds a frame's envelope), the rest of the shard goes straight to TLS.
    private const int TlsRecordSize = 16 * 1024;

    private static SslStreamCertificateContext NewCertificate() =>
        SslStreamCertificateContext.Create(NodeCertificate.Create(NodeIdentity.CreateEphemeral()), additionalCertificates: null, offline: true);

    private static bool AnyNodeCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        NodeCertificate.PeerId(certificate) is not null;

    /// <summary>The sink and shard server, in the holders' process.</summary>
    internal sealed class Server : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly SslStreamCertificateContext _certificate = NewCertificate();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        private Server(Socket listener)
        {
            _listener = listener;
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static Server Start()
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(64);
            return new Server(listener);
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = Task.Run(() => ServeAsync(socket));
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            RpcTransport.Configure(socket);
            await using var ssl = RpcTransport.Secure(new NetworkStream(socket, ownsSocket: true), out var records);
            var kept = new Dictionary<int, byte[]>();
            var header = new byte[HeaderSize];
            var scratch = new byte[TlsRecordSize];
            var ackAnswer = new byte[PutAckSize];
            try
            {
                await ssl.AuthenticateAsServerAsync(RpcTransport.ServerOptions(_certificate, AnyNodeCertificate), _stop.Token).ConfigureAwait(false);
                while (await ssl.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, _stop.Token).ConfigureAwait(false) == HeaderSize)
                {
                    int segment = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
                    int length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5));
                    switch (header[0])
                    {
                        case Put or AckedPut:
                            for (int left = length; left > 0;)
                                left -= await ssl.ReadAsync(scratch.AsMemory(0, Math.Min(left, scratch.Length)), _stop.Token).ConfigureAwait(false) is > 0 and var n
                                    ? n : throw new EndOfStreamException();
                            if (header[0] == AckedPut)
                            {
                                await ssl.WriteAsync(ackAnswer, _stop.Token).ConfigureAwait(false);
                                await ssl.FlushAsync(_stop.Token).ConfigureAwait(false);
                            }

                            break;
                        case Keep:
                            var shard = new byte[length];
                            await ssl.ReadExactlyAsync(shard, _stop.Token).ConfigureAwait(false);
                            kept[segment] = shard;
                            break;
                        case Get:
                            var bytes = kept.GetValueOrDefault(segment) ?? [];
                            await WriteMessageAsync(ssl, records, scratch, bytes.Length, prefix: 4, fill: 0, static (s, length) => BinaryPrimitives.WriteInt32BigEndian(s, length), bytes, _stop.Token)
                                .ConfigureAwait(false);
                            break;
                        case Ack:
                            await ssl.WriteAsync(new byte[1], _stop.Token).ConfigureAwait(false);
                            await ssl.FlushAsync(_stop.Token).ConfigureAwait(false);
                            break;
                        default:
                            return;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or EndOfStreamException or System.Security.Authentication.AuthenticationException)
            {
                // The benchmark closed the connection or stopped the process.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            _listener.Dispose();
            await _accepting.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes one message: its first TLS record (a <paramref name="prefix"/>-byte header saying <paramref name="length"/>,
    /// <paramref name="fill"/> bytes standing for the rest of a frame's envelope, and the start of <paramref name="shard"/>)
    /// from <paramref name="scratch"/>, the rest of the shard straight from its buffer, then a flush; corked like a batch
    /// of the mesh's frame writer.
    /// </summary>
    private static async Task WriteMessageAsync(SslStream ssl, RecordCoalescingStream records, byte[] scratch, int length, int prefix, int fill,
        SpanAction<byte, int> writeHeader, ReadOnlyMemory<byte> shard, CancellationToken cancellationToken)
    {
        records.Cork(); // as the mesh's frame writer does for every batch
        if (prefix + fill > TlsRecordSize) throw new ArgumentOutOfRangeException(nameof(fill), fill, "The envelope must fit in the first TLS record.");
        writeHeader(scratch.AsSpan(0, prefix), length);
        scratch.AsSpan(prefix, fill).Clear();
        int used = prefix + fill;
        int first = Math.Min(shard.Length, TlsRecordSize - used);
        shard.Span[..first].CopyTo(scratch.AsSpan(used));
        await ssl.WriteAsync(scratch.AsMemory(0, used + first), cancellationToken).ConfigureAwait(false);
        if (shard.Length > first) await ssl.WriteAsync(shard[first..], cancellationToken).ConfigureAwait(false);
        await ssl.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private delegate void SpanAction<T, in TArg>(Span<T> span, TArg arg);

    /// <summary>The benchmark's side: one TLS connection per shard index, dialed as the mesh dials.</summary>
    internal sealed class Client : IShardSink, IShardSource, IAsyncDisposable
    {
        private readonly Connection[] _connections;

        private Client(Connection[] connections) => _connections = connections;

        /// <summary>Bytes each put message carries beyond its shard, header included: as many as a PUT_SHARD frame's envelope
        /// (set by the caller), so that the floor sends as many bytes as the puts.</summary>
        public int PutOverhead { get; set; }

        /// <summary>Whether each put waits for the sink's acknowledgement (<see cref="PutAckSize"/> bytes), as a mesh store's
        /// PUT_SHARD waits for its response; otherwise the puts only go out, and <see cref="AcknowledgedAsync"/> waits once.</summary>
        public bool AckEachPut { get; set; } = true;

        public static async Task<Client> ConnectAsync(int port, int connections)
        {
            var certificate = NewCertificate();
            var opened = new Connection[connections];
            for (int i = 0; i < connections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                RpcTransport.Configure(socket);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).ConfigureAwait(false);
                var ssl = RpcTransport.Secure(new NetworkStream(socket, ownsSocket: true), out var records);
                await ssl.AuthenticateAsClientAsync(RpcTransport.ClientOptions(certificate, AnyNodeCertificate)).ConfigureAwait(false);
                opened[i] = new Connection(ssl, records);
            }

            return new Client(opened);
        }

        /// <summary>Hands shard j of every segment to connection j's server to keep (setup for the retrieve floor).</summary>
        public async Task KeepAsync(Func<int, byte[][]> segment, int segments, int shards)
        {
            await Task.WhenAll(Enumerable.Range(0, shards).Select(async j =>
            {
                var c = _connections[j];
                for (int s = 0; s < segments; s++)
                {
                    var shard = segment(s)[j];
                    await WriteMessageAsync(c.Ssl, c.Records, c.Scratch, shard.Length, HeaderSize, 0, (span, length) => Header(span, Keep, s, length), shard, default)
                        .ConfigureAwait(false);
                }
            })).ConfigureAwait(false);
            await AcknowledgedAsync().ConfigureAwait(false);
        }

        /// <summary>The encoder's sink: shard j of the segment to connection j, all at once, as one put message each.</summary>
        public async ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
        {
            var writes = new Task[segment.Shards.Length];
            for (int j = 0; j < writes.Length; j++)
                writes[j] = PutAsync(_connections[j], segment.Index, segment.Shards[j], cancellationToken);
            await Task.WhenAll(writes).ConfigureAwait(false);
        }

        private async Task PutAsync(Connection c, int index, ReadOnlyMemory<byte> shard, CancellationToken cancellationToken)
        {
            int fill = Math.Max(0, PutOverhead - HeaderSize);
            byte kind = AckEachPut ? AckedPut : Put;
            await c.Turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await WriteMessageAsync(c.Ssl, c.Records, c.Scratch, fill + shard.Length, HeaderSize, fill,
                    (span, length) => Header(span, kind, index, length), shard, cancellationToken).ConfigureAwait(false);
                if (AckEachPut) await c.Ssl.ReadExactlyAsync(c.PutAck, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                c.Turn.Release();
            }
        }

        /// <summary>Waits until every server has read everything sent to it (one round trip per connection).</summary>
        public async Task AcknowledgedAsync()
        {
            await Task.WhenAll(_connections.Select(async c =>
            {
                var message = new byte[HeaderSize];
                Header(message, Ack, 0, 0);
                await c.Ssl.WriteAsync(message).ConfigureAwait(false);
                await c.Ssl.FlushAsync().ConfigureAwait(false);
                await c.Ssl.ReadExactlyAsync(new byte[1]).ConfigureAwait(false);
            })).ConfigureAwait(false);
        }

        /// <summary>The decoder's source: a short request for shard j of the segment on connection j, the shard straight into
        /// the decoder's buffer.</summary>
        public async ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
        {
            var c = _connections[shard];
            await c.Turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                Header(c.Request, Get, segment, 0);
                await c.Ssl.WriteAsync(c.Request, cancellationToken).ConfigureAwait(false);
                await c.Ssl.FlushAsync(cancellationToken).ConfigureAwait(false);
                await c.Ssl.ReadExactlyAsync(c.Length, cancellationToken).ConfigureAwait(false);
                int length = BinaryPrimitives.ReadInt32BigEndian(c.Length);
                if (length > destination.Length) throw new InvalidDataException($"The floor server sent {length} bytes for a {destination.Length}-byte shard.");
                await c.Ssl.ReadExactlyAsync(destination[..length], cancellationToken).ConfigureAwait(false);
                return length == destination.Length;
            }
            finally
            {
                c.Turn.Release();
            }
        }

        private static void Header(Span<byte> span, byte kind, int segment, int length)
        {
            span[0] = kind;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], segment);
            BinaryPrimitives.WriteInt32BigEndian(span[5..], length);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var c in _connections) await c.Ssl.DisposeAsync().ConfigureAwait(false);
        }

        private sealed class Connection(SslStream ssl, RecordCoalescingStream records)
        {
            public SslStream Ssl { get; } = ssl;
            public RecordCoalescingStream Records { get; } = records;
            public byte[] Scratch { get; } = new byte[TlsRecordSize];
            public byte[] Request { get; } = new byte[HeaderSize];
            public byte[] Length { get; } = new byte[4];
            public byte[] PutAck { get; } = new byte[PutAckSize];
            public SemaphoreSlim Turn { get; } = new(1, 1);
        }
    }
}
