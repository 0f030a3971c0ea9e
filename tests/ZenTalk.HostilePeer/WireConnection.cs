using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.HostilePeer;

/// <summary>Where the victim is: <c>address:port@node id</c> (64 hex digits), as a node prints it for <c>--bootstrap</c>.</summary>
internal sealed record Target(IPEndPoint EndPoint, byte[] Id)
{
    public static Target Parse(string text)
    {
        int at = text.LastIndexOf('@');
        if (at < 0 || !IPEndPoint.TryParse(text[..at], out var endPoint))
            throw new FormatException($"'{text}' is not address:port@nodeid");
        var id = Convert.FromHexString(text[(at + 1)..]);
        if (id.Length != 32) throw new FormatException($"'{text}': a node id is 64 hexadecimal digits");
        return new Target(endPoint, id);
    }
}

/// <summary>
/// One connection to a node, dialed as docs/protocol.md says: TCP, TLS 1.3 with this program's certificate, the
/// victim's certificate checked against the id the target names (§1); the version exchange (§2); then frames, each a
/// varint32 length and a serialized <c>Frame</c> (§3). Writes and reads may run at once (one of each).
/// </summary>
internal sealed class WireConnection : IAsyncDisposable
{
    /// <summary>The largest frame this side reads (and announces), the protocol's default.</summary>
    public const int MaxFrameSize = 4 << 20;

    private readonly SslStream _ssl;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    private WireConnection(SslStream ssl) => _ssl = ssl;

    /// <summary>Dials <paramref name="target"/> from <paramref name="bind"/> and completes TLS and the version exchange.</summary>
    /// <exception cref="IOException">The victim refused the version exchange or closed the connection.</exception>
    public static async Task<WireConnection> OpenAsync(Target target, PeerIdentity identity, IPAddress? bind, CancellationToken cancellationToken)
    {
        var socket = new Socket(target.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        SslStream? ssl = null;
        try
        {
            if (bind is not null) socket.Bind(new IPEndPoint(bind, 0));
            await socket.ConnectAsync(target.EndPoint, cancellationToken).ConfigureAwait(false);
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "zentalk-mesh",
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificateContext = SslStreamCertificateContext.Create(identity.Certificate, null, offline: true),
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                // Trust is the key hash: the victim must prove the id we dialed, whatever its chain, names and dates.
                RemoteCertificateValidationCallback = (_, certificate, _, _) => PeerIdentity.IdOf(certificate) is { } id && id.AsSpan().SequenceEqual(target.Id),
            }, cancellationToken).ConfigureAwait(false);
            var connection = new WireConnection(ssl);
            await connection.WriteAsync(new Frame
            {
                Hello = new Hello { ProtocolVersion = 3, MinProtocolVersion = 2, ListenPort = 0, MaxFrameSize = MaxFrameSize, Agent = "zentalk-hostile-peer/1" },
            }, cancellationToken).ConfigureAwait(false);
            var answer = await connection.ReadAsync(cancellationToken).ConfigureAwait(false)
                         ?? throw new IOException("the node closed the connection during the version exchange");
            if (answer.BodyCase != Frame.BodyOneofCase.Hello)
                throw new IOException($"the node refused the version exchange: {answer.Response?.Status?.Code} {answer.Response?.Status?.Message}");
            return connection;
        }
        catch
        {
            if (ssl is not null) await ssl.DisposeAsync().ConfigureAwait(false);
            else socket.Dispose();
            throw;
        }
    }

    /// <summary>Appends <paramref name="frame"/> to <paramref name="batch"/> as it goes on the wire: varint32 length, then the bytes.</summary>
    public static void Append(MemoryStream batch, Frame frame) => frame.WriteDelimitedTo(batch);

    public async Task WriteAsync(Frame frame, CancellationToken cancellationToken)
    {
        using var one = new MemoryStream();
        Append(one, frame);
        await WriteAsync(one, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the frames <paramref name="batch"/> holds in one write.</summary>
    public async Task WriteAsync(MemoryStream batch, CancellationToken cancellationToken)
    {
        await _ssl.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length), cancellationToken).ConfigureAwait(false);
        await _ssl.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The next frame, or null when the node closed the connection between frames.</summary>
    /// <exception cref="InvalidDataException">A length prefix over 5 bytes, zero or above <see cref="MaxFrameSize"/>, or bytes that are no frame.</exception>
    public async Task<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        uint length = 0;
        for (int i = 0, shift = 0; ; i++, shift += 7)
        {
            if (i == 5) throw new InvalidDataException("a frame length prefix longer than 5 bytes");
            if (!await FillAsync(1, cancellationToken).ConfigureAwait(false))
                return i == 0 ? (Frame?)null : throw new EndOfStreamException("the connection closed inside a length prefix");
            byte b = _buffer[_start++];
            length |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
        }

        if (length is 0 or > MaxFrameSize) throw new InvalidDataException($"a frame length of {length} bytes");
        if (!await FillAsync((int)length, cancellationToken).ConfigureAwait(false))
            throw new EndOfStreamException("the connection closed inside a frame");
        try
        {
            return Frame.Parser.ParseFrom(_buffer, _start, (int)length);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException("a frame that does not parse", e);
        }
        finally
        {
            _start += (int)length;
        }
    }

    /// <summary>Reads until <paramref name="count"/> unread bytes are buffered; false when the stream ended first.</summary>
    private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (_end - _start >= count) return true;
        if (_buffer.Length - _start < count)
        {
            var target = _buffer.Length >= count ? _buffer : new byte[Math.Max(count, _buffer.Length * 2)];
            Buffer.BlockCopy(_buffer, _start, target, 0, _end - _start);
            _end -= _start;
            _start = 0;
            _buffer = target;
        }

        while (_end - _start < count)
        {
            int n = await _ssl.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (n == 0) return false;
            _end += n;
        }

        return true;
    }

    public ValueTask DisposeAsync() => _ssl.DisposeAsync();
}
